# The lesson's TCP server (one client), as written there; the port comes from argv (0: the
# OS picks one, printed first so a test can read it).
import socket
import sys

if __name__ == '__main__':
    tcp_server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
    tcp_server_socket.bind(("", int(sys.argv[1])))
    tcp_server_socket.listen(128)
    print("port", tcp_server_socket.getsockname()[1], flush=True)
    service_client_socket, ip_port = tcp_server_socket.accept()
    print("客户端的ip地址和端口号:", ip_port)
    recv_data = service_client_socket.recv(1024)
    recv_data_length = len(recv_data)
    print("接收数据的长度为:", recv_data_length)
    recv_content = recv_data.decode("gbk")
    print("接收客户端的数据为:", recv_content)
    send_data = "ok, 问题正在处理中...".encode("gbk")
    service_client_socket.send(send_data)
    service_client_socket.close()
    tcp_server_socket.close()

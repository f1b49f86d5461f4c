# The lesson's TCP client, as written there; only the address comes from argv (tests use
# the port the server was given by the OS).
import socket
import sys

if __name__ == '__main__':
    tcp_client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_client_socket.connect(("127.0.0.1", int(sys.argv[1])))
    send_data = "你好服务端，我是客户端小黑!".encode("gbk")
    tcp_client_socket.send(send_data)
    recv_data = tcp_client_socket.recv(1024)
    print(recv_data)
    recv_content = recv_data.decode("gbk")
    print("接收服务端的数据为:", recv_content)
    tcp_client_socket.close()

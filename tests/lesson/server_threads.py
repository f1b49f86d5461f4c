# The lesson's multi-task TCP server, as written there; the port comes from argv (0: the OS
# picks one, printed first so a test can read it), output is flushed for the test to read, and
# setDaemon(True), deprecated in newer Pythons, is written daemon = True.
import socket
import sys
import threading


def handle_client_request(service_client_socket, ip_port):
    while True:
        recv_data = service_client_socket.recv(1024)
        if recv_data:
            print(recv_data.decode("gbk"), ip_port, flush=True)
            service_client_socket.send("ok，问题正在处理中...".encode("gbk"))
        else:
            print("客户端下线了:", ip_port, flush=True)
            break
    service_client_socket.close()


if __name__ == '__main__':
    tcp_server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
    tcp_server_socket.bind(("", int(sys.argv[1])))
    tcp_server_socket.listen(128)
    print("port", tcp_server_socket.getsockname()[1], flush=True)
    while True:
        service_client_socket, ip_port = tcp_server_socket.accept()
        print("客户端连接成功:", ip_port, flush=True)
        sub_thread = threading.Thread(target=handle_client_request, args=(service_client_socket, ip_port))
        sub_thread.daemon = True
        sub_thread.start()

/* A UDP echo in C built the way netassist's UDP server is: a non-blocking socket in epoll,
 * datagrams taken 16 per recvmmsg until a short batch, answered with one sendmmsg per
 * batch. Nothing else (no table of sources, no views): the limit of that design on this
 * machine, beside the plain recvfrom/sendto loop (../shared/bench/udpecho.c) in
 * `bench/udp_cpu.sh`.
 *
 *   cmmsg PORT      (on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 16
#define DGRAM 65536

static char bufs[BATCH][DGRAM];

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: cmmsg PORT\n"); return 2; }
  signal(SIGINT, SIG_DFL);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_in from[BATCH];
  for (;;) {
    struct epoll_event got;
    if (epoll_wait(ep, &got, 1, -1) < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        iovs[i] = (struct iovec){.iov_base = bufs[i], .iov_len = DGRAM};
        msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                          .msg_iov = &iovs[i], .msg_iovlen = 1};
      }
      int n = recvmmsg(s, msgs, BATCH, 0, NULL);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) iovs[i].iov_len = msgs[i].msg_len;
      for (int sent = 0; sent < n;) {
        int w = sendmmsg(s, msgs + sent, n - sent, 0);
        if (w <= 0) break;
        sent += w;
      }
      if (n < BATCH) break; /* a short batch: the queue is empty, wait again */
    }
  }
}

/* A minimal UDP relay in C, built as netassist's `relay --udp` is: one listening socket,
 * one connected socket to the target per client source, all in one epoll; each datagram
 * read once and sent on at once (recvfrom/send one way, recv/sendto the other). Nothing
 * else (no idle timeout, no views): the practical limit of a UDP relay for
 * `bench/udp_cpu.sh`.
 *
 *   cudprelay LISTEN_PORT TARGET_PORT     (both on 127.0.0.1; at most 1024 sources)
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

#define SOURCES 1024
static struct sockaddr_in source[SOURCES];
static int upstream[SOURCES];
static int nsources;

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: cudprelay LISTEN_PORT TARGET_PORT\n"); return 2; }
  signal(SIGINT, SIG_DFL);
  struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  struct sockaddr_in ta = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
  la.sin_addr.s_addr = ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ls = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (bind(ls, (struct sockaddr *)&la, sizeof la)) { perror("bind"); return 1; }
  int ep = epoll_create1(0);
  /* data: -1 for the listening socket, else the source's index */
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)-1};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  static char buf[65536];
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    for (int e = 0; e < n; e++) {
      if (evs[e].data.u64 == (uint64_t)-1) {
        for (;;) {
          struct sockaddr_in from;
          socklen_t fl = sizeof from;
          ssize_t r = recvfrom(ls, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
          if (r < 0) break;
          int i = 0;
          while (i < nsources && (source[i].sin_port != from.sin_port || source[i].sin_addr.s_addr != from.sin_addr.s_addr)) i++;
          if (i == nsources) {
            if (nsources == SOURCES) continue;
            int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
            if (connect(u, (struct sockaddr *)&ta, sizeof ta)) { perror("connect"); return 1; }
            source[i] = from;
            upstream[i] = u;
            nsources++;
            struct epoll_event uev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, u, &uev);
          }
          send(upstream[i], buf, r, 0);
        }
      } else {
        int i = (int)evs[e].data.u64;
        for (;;) {
          ssize_t r = recv(upstream[i], buf, sizeof buf, 0);
          if (r < 0) break;
          sendto(ls, buf, r, 0, (struct sockaddr *)&source[i], sizeof source[i]);
        }
      }
    }
  }
}

/* A minimal TCP relay in C: one thread, epoll, each readable socket read once into a
 * buffer and written to its partner at once. What a relay must do per message and nothing
 * else (no accounting, no views): the practical limit for `bench/relay_compare.sh`, as
 * ../shared/bench/cecho.c is for the echo server.
 *
 *   crelay LISTEN_PORT TARGET_PORT      (both on 127.0.0.1)
 *
 * A write that the partner's socket does not take whole waits for it (poll): with the
 * small messages this measures it does not happen; it keeps the program short and exact.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
static int partner[MAXFD];

static int write_all(int fd, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) { p += w; n -= w; continue; }
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      poll(&pf, 1, -1);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    return -1;
  }
  return 0;
}

static void add(int ep, int fd) {
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void drop(int ep, int fd) {
  int other = partner[fd];
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  epoll_ctl(ep, EPOLL_CTL_DEL, other, NULL);
  close(fd);
  close(other);
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: crelay LISTEN_PORT TARGET_PORT\n"); return 2; }
  /* A background job of a script starts with SIGINT ignored; the bench stops it with one. */
  signal(SIGINT, SIG_DFL);
  struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  struct sockaddr_in ta = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
  inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &ta.sin_addr);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&la, sizeof la) || listen(ls, 4096)) { perror("listen"); return 1; }
  int ep = epoll_create1(0);
  add(ep, ls);
  static char buf[65536];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          int t = socket(AF_INET, SOCK_STREAM, 0);
          if (connect(t, (struct sockaddr *)&ta, sizeof ta)) { perror("connect"); close(c); close(t); continue; }
          int on = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          fcntl(t, F_SETFL, O_NONBLOCK);
          partner[c] = t;
          partner[t] = c;
          add(ep, c);
          add(ep, t);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        if (write_all(partner[fd], buf, r)) drop(ep, fd);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        drop(ep, fd);
      }
    }
  }
}

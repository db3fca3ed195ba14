/* A diagnostic for bench/proxy/run.mjs, never part of joeyd: preloaded (LD_PRELOAD) into a
 * second joeyd, it sets TCP_NODELAY on every connection that joeyd accepts, to measure what
 * joeyd's proxy adds once its responses are no longer held back by Nagle's algorithm
 * (joeyd writes a response head and its body in separate sends on a socket without
 * TCP_NODELAY, so the body waits for the client's delayed ACK). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay(int fd) {
  if (fd >= 0) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly off TCP */
  }
}

int accept(int fd, struct sockaddr* address, socklen_t* length) {
  static int (*real)(int, struct sockaddr*, socklen_t*);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "accept");
  int accepted = real(fd, address, length);
  set_nodelay(accepted);
  return accepted;
}

int accept4(int fd, struct sockaddr* address, socklen_t* length, int flags) {
  static int (*real)(int, struct sockaddr*, socklen_t*, int);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*, int))dlsym(RTLD_NEXT, "accept4");
  int accepted = real(fd, address, length, flags);
  set_nodelay(accepted);
  return accepted;
}

#define _GNU_SOURCE
#include "CStrataShims.h"
#include <sys/socket.h>

#include <errno.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

const uint32_t STRATA_EPOLLIN = EPOLLIN;
const uint32_t STRATA_EPOLLOUT = EPOLLOUT;
const uint32_t STRATA_EPOLLERR = EPOLLERR;
const uint32_t STRATA_EPOLLHUP = EPOLLHUP;
const uint32_t STRATA_EPOLLRDHUP = EPOLLRDHUP;
const int STRATA_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int STRATA_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int STRATA_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

int strata_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int strata_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}

int strata_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int max_events, int timeout_ms) {
    struct epoll_event evs[256];
    if (max_events > 256) max_events = 256;
    int n = epoll_wait(epfd, evs, max_events, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        events[i] = evs[i].events;
    }
    return n;
}

int strata_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int strata_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int strata_eventfd_drain(int fd) {
    uint64_t value;
    return (int)read(fd, &value, sizeof value);
}

ssize_t strata_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count) {
    off_t off = (off_t)*offset;
    ssize_t n = sendfile(out_fd, in_fd, &off, count);
    *offset = (int64_t)off;
    return n;
}

int strata_sha256(const void *data, size_t len, uint8_t *out) {
    unsigned int out_len = 32;
    return EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
}

int strata_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out) {
    unsigned int out_len = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL;
}

int strata_random_bytes(uint8_t *out, int len) { return RAND_bytes(out, len); }

int strata_accept(int fd, struct sockaddr *addr, unsigned int *len) {
    socklen_t l = *len;
    int c = accept4(fd, addr, &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *len = l;
    return c;
}

void strata_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

#include <fcntl.h>
#include <spawn.h>

int strata_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int strata_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

#ifndef STRATA_SHIMS_H
#define STRATA_SHIMS_H

// Linux system calls that Glibc's Swift overlay does not export, wrapped in
// functions with plain C types so Swift never sees packed structs.

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/// epoll_ctl with the fd itself as the event's user data.
int strata_epoll_ctl(int epfd, int op, int fd, uint32_t events);

/// epoll_wait that unpacks the (packed on x86-64) events into two arrays.
int strata_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int max_events, int timeout_ms);

int strata_epoll_create(void);

/// Names the calling thread (15 characters at most), for top -H and perf.
void strata_set_thread_name(const char *name);
int strata_eventfd(void);
int strata_eventfd_signal(int fd);
int strata_eventfd_drain(int fd);

struct sockaddr;
/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC.
int strata_accept(int fd, struct sockaddr *addr, unsigned int *len);

/// sendfile(2): copies up to `count` bytes of `in_fd` from `*offset` to `out_fd`.
ssize_t strata_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count);

extern const uint32_t STRATA_EPOLLIN;
extern const uint32_t STRATA_EPOLLOUT;
extern const uint32_t STRATA_EPOLLERR;
extern const uint32_t STRATA_EPOLLHUP;
extern const uint32_t STRATA_EPOLLRDHUP;
extern const int STRATA_EPOLL_CTL_ADD;
extern const int STRATA_EPOLL_CTL_MOD;
extern const int STRATA_EPOLL_CTL_DEL;

/// SHA-256 of `len` bytes into `out` (32 bytes). Returns 1 on success.
int strata_sha256(const void *data, size_t len, uint8_t *out);

/// HMAC-SHA-256 into `out` (32 bytes). Returns 1 on success.
int strata_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t *out);

/// Cryptographically secure random bytes. Returns 1 on success.
int strata_random_bytes(uint8_t *out, int len);

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): a pipe no other child inherits (CGI scripts).
int strata_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np: the child's working directory.
int strata_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif

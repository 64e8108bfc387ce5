/*
 * heaplab/sched.h — the M:N goroutine scheduler: goroutines, time,
 * syscalls, the netpoller, channels, select and sync primitives.
 *
 * Goroutines are C functions run on heaplab-managed stacks by GOMAXPROCS
 * (HLMAXPROCS) processors, as in Go's runtime: G (goroutine), M (OS
 * thread), P (processor with a run queue and an allocation cache). Start
 * the runtime with hl_main; every other call here must be made from a
 * goroutine (misuse is fatal with a clear message).
 *
 * Blocking: a goroutine blocks cheaply (parks) on channels, select, the
 * sync primitives, hl_sleep and the network calls. A plain blocking system
 * call blocks its thread; wrap it in hl_syscall_enter/exit (or use the
 * hl_sys_* wrappers) so that its processor is handed to another thread.
 * The runtime never switches goroutines inside arbitrary C code: a
 * goroutine is switched only at the calls in this header.
 */
#ifndef HEAPLAB_SCHED_H
#define HEAPLAB_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HL_API
#define HL_API __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------ runtime */

/* Starts the runtime with HLMAXPROCS processors (default: the CPUs this
 * process may run on), runs fn(arg) as the main goroutine on the calling
 * thread, and returns its result when it returns. Goroutines still running
 * then are abandoned (as when Go's main returns). Call once per process. */
HL_API int hl_main(int (*fn)(void *arg), void *arg);

/* Starts fn(arg) in a new goroutine; returns its id (ids start at 1, the
 * main goroutine). */
HL_API int64_t hl_go(void (*fn)(void *arg), void *arg);
/* Lets other goroutines run (Go's runtime.Gosched). */
HL_API void hl_yield(void);
/* Ends the calling goroutine (as returning from its function does). */
HL_API __attribute__((noreturn)) void hl_exit(void);
/* The calling goroutine's id. */
HL_API int64_t hl_goid(void);
/* Goroutines that exist now (running, runnable or blocked). */
HL_API int64_t hl_numgoroutine(void);
/* Number of processors (P). */
HL_API int hl_maxprocs(void);
/* A safe point: the goroutine may be rescheduled or stopped here. Long
 * loops that call no other hl_* function should call it now and then. */
HL_API void hl_safepoint(void);
/* Wires the calling goroutine to its current thread (Go's LockOSThread):
 * it then runs only there and no other goroutine runs there. Calls nest;
 * a goroutine that exits while locked takes its thread with it. */
HL_API void hl_lock_os_thread(void);
HL_API void hl_unlock_os_thread(void);

/* --------------------------------------------------------------- time */

#define HL_NANOSECOND 1LL
#define HL_MICROSECOND 1000LL
#define HL_MILLISECOND 1000000LL
#define HL_SECOND 1000000000LL

/* Monotonic clock, nanoseconds. */
HL_API int64_t hl_nanotime(void);
/* Parks the calling goroutine for at least ns nanoseconds. */
HL_API void hl_sleep(int64_t ns);

/* ----------------------------------------------------------- syscalls */

/* Brackets a call that may block its thread: the processor is handed to
 * another thread if the call takes long (> 20 us). Between the two calls
 * the goroutine must not call other hl_* functions (malloc is fine). */
HL_API void hl_syscall_enter(void);
HL_API void hl_syscall_exit(void);
/* Blocking calls wrapped in hl_syscall_enter/exit. */
HL_API ssize_t hl_sys_read(int fd, void *buf, size_t n);
HL_API ssize_t hl_sys_write(int fd, const void *buf, size_t n);
HL_API int hl_sys_nanosleep(int64_t ns); /* blocks the thread */
HL_API pid_t hl_sys_waitpid(pid_t pid, int *status, int options);
/* Runs fn(arg), a call that may block its thread, as a syscall. */
HL_API intptr_t hl_blocking(intptr_t (*fn)(void *arg), void *arg);

/* ------------------------------------------------------------- netpoll */

/* Deadlines are absolute hl_nanotime() values; 0 means none. On a passed
 * deadline the call fails with errno ETIMEDOUT. */

/* Makes fd non-blocking and registers it with the netpoller (done by
 * hl_socket and hl_accept). Returns 0 or -1 with errno. */
HL_API int hl_fd_open(int fd);
/* Unregisters and closes fd; goroutines blocked on it fail with EBADF. */
HL_API int hl_fd_close(int fd);
/* socket(2) + hl_fd_open. */
HL_API int hl_socket(int domain, int type, int protocol);
HL_API ssize_t hl_read(int fd, void *buf, size_t n, int64_t deadline);
HL_API ssize_t hl_write(int fd, const void *buf, size_t n, int64_t deadline);
/* Writes all n bytes (or fails); returns n or -1. */
HL_API ssize_t hl_write_all(int fd, const void *buf, size_t n,
                            int64_t deadline);
HL_API int hl_accept(int fd, struct sockaddr *addr, socklen_t *len,
                     int64_t deadline);
HL_API int hl_connect(int fd, const struct sockaddr *addr, socklen_t len,
                      int64_t deadline);

/* ------------------------------------------------------------ channels */

typedef struct hl_chan hl_chan_t;

/* A channel of elements of elemsize bytes (0 allowed) with cap buffer
 * slots (0: unbuffered). Returns NULL with ENOMEM. */
HL_API hl_chan_t *hl_chan_make(size_t elemsize, size_t cap);
/* Frees a channel nobody uses any more. */
HL_API void hl_chan_free(hl_chan_t *c);
/* Sends *elem (blocks until received or buffered). Sending on a closed
 * channel is fatal; on a NULL channel blocks forever. */
HL_API void hl_chan_send(hl_chan_t *c, const void *elem);
/* Receives into *elem (may be NULL to drop it). Returns true for a value
 * sent, false when the channel is closed and drained (*elem zeroed). */
HL_API bool hl_chan_recv(hl_chan_t *c, void *elem);
/* Closing a closed or NULL channel is fatal. */
HL_API void hl_chan_close(hl_chan_t *c);
HL_API size_t hl_chan_len(hl_chan_t *c);
HL_API size_t hl_chan_cap(hl_chan_t *c);
/* Non-blocking: true if sent now. */
HL_API bool hl_chan_trysend(hl_chan_t *c, const void *elem);
/* Non-blocking: returns 1 if a value or the close was received now (then
 * *ok says which, as for hl_chan_recv), 0 if it would block. */
HL_API int hl_chan_tryrecv(hl_chan_t *c, void *elem, bool *ok);
/* With a timeout in ns (< 0: none): 0 on success, -1 with ETIMEDOUT. */
HL_API int hl_chan_send_timeout(hl_chan_t *c, const void *elem,
                                int64_t timeout);
HL_API int hl_chan_recv_timeout(hl_chan_t *c, void *elem, bool *ok,
                                int64_t timeout);

/* -------------------------------------------------------------- select */

enum { HL_SEND = 1, HL_RECV = 2 };
typedef struct hl_select_case {
  hl_chan_t *chan; /* NULL: the case is never ready */
  int dir;         /* HL_SEND or HL_RECV */
  void *elem;      /* value to send, or where to receive (may be NULL) */
  bool ok;         /* HL_RECV: set as hl_chan_recv's result */
} hl_select_case_t;
#define HL_SELECT_BLOCK (-1LL) /* no default, no timeout */
#define HL_SELECT_DEFAULT 0LL  /* a default case: never block */
/* Waits until one of the n cases can proceed, choosing uniformly among
 * the ready ones, and performs it; returns its index. timeout (ns):
 * HL_SELECT_BLOCK waits forever, HL_SELECT_DEFAULT never waits, and any
 * other value at most that long; returns -1 when nothing was ready. */
HL_API int hl_select(hl_select_case_t *cases, int n, int64_t timeout);

/* ---------------------------------------------------------------- sync */

/* All sync objects are ready to use when zeroed (static or calloc'ed),
 * or initialised with their HL_*_INIT; none may be copied after first
 * use. */
typedef struct hl_mutex {
  uint64_t opaque_[2];
} hl_mutex_t;
#define HL_MUTEX_INIT {{0}}
HL_API void hl_mutex_lock(hl_mutex_t *m);
HL_API bool hl_mutex_trylock(hl_mutex_t *m);
HL_API void hl_mutex_unlock(hl_mutex_t *m); /* unlocked: fatal */

typedef struct hl_rwmutex {
  uint64_t opaque_[5];
} hl_rwmutex_t;
#define HL_RWMUTEX_INIT {{0}}
HL_API void hl_rwmutex_lock(hl_rwmutex_t *rw);
HL_API void hl_rwmutex_unlock(hl_rwmutex_t *rw);
HL_API void hl_rwmutex_rlock(hl_rwmutex_t *rw);
HL_API void hl_rwmutex_runlock(hl_rwmutex_t *rw);

typedef struct hl_cond {
  uint64_t opaque_[4];
} hl_cond_t;
#define HL_COND_INIT {{0}}
HL_API void hl_cond_wait(hl_cond_t *c, hl_mutex_t *m);
HL_API void hl_cond_signal(hl_cond_t *c);
HL_API void hl_cond_broadcast(hl_cond_t *c);

typedef struct hl_waitgroup {
  uint64_t opaque_[2];
} hl_waitgroup_t;
#define HL_WAITGROUP_INIT {{0}}
HL_API void hl_waitgroup_add(hl_waitgroup_t *wg, int64_t delta); /* < 0: fatal */
HL_API void hl_waitgroup_done(hl_waitgroup_t *wg);
HL_API void hl_waitgroup_wait(hl_waitgroup_t *wg);

typedef struct hl_once {
  uint64_t opaque_[3];
} hl_once_t;
#define HL_ONCE_INIT {{0}}
/* Runs fn(arg) exactly once over all calls with this once; every caller
 * returns after it has completed. */
HL_API void hl_once_do(hl_once_t *o, void (*fn)(void *arg), void *arg);

/* A counting semaphore. */
typedef struct hl_sema {
  uint64_t opaque_[2];
} hl_sema_t;
#define HL_SEMA_INIT(n) {{(uint64_t)(n), 0}}
HL_API void hl_sema_acquire(hl_sema_t *s);
HL_API bool hl_sema_tryacquire(hl_sema_t *s);
HL_API void hl_sema_release(hl_sema_t *s);

#ifdef __cplusplus
}
#endif
#endif

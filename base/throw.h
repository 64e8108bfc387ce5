/*
 * base/throw.h — fatal errors and allocation-free printing.
 *
 * Nothing here allocates: these run inside malloc, signal handlers and
 * broken heaps. Output goes to fd 2 with write(2).
 *
 *   hl_throw(msg)      broken invariant: "fatal error: msg", runs the dump
 *                      hook (goroutine dump, once the scheduler exists),
 *                      aborts.
 *   hl_misuse(fmt,..)  API misuse (bad free, double free): "heaplab: ..."
 *                      then abort.
 *   hl_printf(fd,...)  small printf: %s %c %d %i %u %ld %lu %lld %llu %zu
 *                      %zd %x %lx %llx %zx %p %%, with optional width/0 flag.
 */
#ifndef HL_BASE_THROW_H
#define HL_BASE_THROW_H

#include <stdarg.h>
#include <stddef.h>

__attribute__((noreturn, cold)) void hl_throw(const char *msg);
__attribute__((noreturn, cold, format(printf, 1, 2))) void
hl_throwf(const char *fmt, ...);
__attribute__((noreturn, cold, format(printf, 1, 2))) void
hl_misuse(const char *fmt, ...);

__attribute__((format(printf, 2, 3))) int hl_printf(int fd, const char *fmt,
                                                    ...);
int hl_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int hl_snprintf(char *buf, size_t len,
                                                      const char *fmt, ...);

/* Called by hl_throw before abort (e.g. to dump goroutines); may be NULL.
 * Set by higher layers at start-up. */
extern void (*hl_throw_hook)(void);
/* Called after a fatal message to print heap statistics; may be NULL. */
extern void (*hl_throw_stats_hook)(void);

#endif

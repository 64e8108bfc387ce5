/*
 * tests/sched/tls_check_fixture.c — the pattern scripts/tls_check_aarch64.py
 * must find, and HL_TLS's version of it, which it must pass
 * (scripts/test_aarch64.sh compiles both for AArch64 and checks the
 * checker; no test executable is built from this file).
 *
 * fx_across touches a thread-local, calls a function that could switch
 * goroutines, and touches it again: compiled plain, GCC keeps the thread
 * pointer in a callee-saved register across the call; with
 * -DFX_FRESH the accesses go through HL_TLS (base/tls.h).
 */
#include "base/tls.h"

extern __thread int fx_var __attribute__((tls_model("initial-exec")));
void fx_switch(void);

#ifdef FX_FRESH
#define FX_VAR HL_TLS(fx_var)
#else
#define FX_VAR fx_var
#endif

int fx_across(void);
int fx_across(void) {
  FX_VAR++;
  fx_switch();
  return FX_VAR;
}

/* heaplab.h — umbrella header for heaplab's public API. */
#ifndef HEAPLAB_HEAPLAB_H
#define HEAPLAB_HEAPLAB_H
#include "heaplab/alloc.h"
#include "heaplab/sched.h"
#include "heaplab/gc.h"
#include "heaplab/trace.h"
#endif

/*
 * base/list.h — intrusive doubly linked lists.
 *
 * A list is a sentinel node; an element embeds a hl_list_t and is on at
 * most one list at a time (next == NULL when on none).
 */
#ifndef HL_BASE_LIST_H
#define HL_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hl_list {
  struct hl_list *next, *prev;
} hl_list_t;

#define hl_container_of(p, type, field)                                        \
  ((type *)((char *)(p) - offsetof(type, field)))

static inline void hl_list_init(hl_list_t *l) { l->next = l->prev = l; }
static inline bool hl_list_empty(const hl_list_t *l) { return l->next == l; }
static inline bool hl_list_linked(const hl_list_t *e) { return e->next != NULL; }

static inline void hl_list_insert_after(hl_list_t *pos, hl_list_t *e) {
  e->prev = pos;
  e->next = pos->next;
  pos->next->prev = e;
  pos->next = e;
}
static inline void hl_list_push_front(hl_list_t *l, hl_list_t *e) {
  hl_list_insert_after(l, e);
}
static inline void hl_list_push_back(hl_list_t *l, hl_list_t *e) {
  hl_list_insert_after(l->prev, e);
}
static inline void hl_list_remove(hl_list_t *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->next = e->prev = NULL;
}
static inline hl_list_t *hl_list_first(const hl_list_t *l) {
  return l->next == l ? NULL : l->next;
}

#endif

/*
 * sched/ctx_aarch64.S — goroutine context switch for AArch64 (AAPCS64).
 *
 *   void hl_ctx_switch(void **save_sp, void *load_sp);
 *
 * Saves the callee-saved registers x19-x28, the frame pointer x29, the
 * link register x30, d8-d15 and FPCR in a 176-byte frame on the current
 * stack, stores sp in *save_sp, loads load_sp and restores the same frame
 * from it, then returns to the restored x30. FPCR is written only when it
 * differs from the current one (goroutines rarely change it). A new goroutine's frame has
 * x30 = hl_ctx_start, x19 = entry function, x20 = its argument.
 *
 *   frame (offsets): 0 x19 x20 | 16 x21 x22 | 32 x23 x24 | 48 x25 x26 |
 *   64 x27 x28 | 80 x29 x30 | 96 d8 d9 | 112 d10 d11 | 128 d12 d13 |
 *   144 d14 d15 | 160 fpcr
 */
	.text
	.globl	hl_ctx_switch
	.hidden	hl_ctx_switch
	.type	hl_ctx_switch, %function
	.p2align 4
hl_ctx_switch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x10, sp			/* x9 keeps this FPCR for the compare */
	str	x10, [x0]
	mov	sp, x1
	ldr	x10, [sp, #160]
	cmp	x9, x10
	b.eq	1f			/* writing FPCR costs more than comparing */
	msr	fpcr, x10
1:	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size	hl_ctx_switch, .-hl_ctx_switch

	.globl	hl_ctx_start
	.hidden	hl_ctx_start
	.type	hl_ctx_start, %function
	.p2align 4
hl_ctx_start:
	mov	x29, #0
	mov	x0, x20
	blr	x19
	brk	#0
	.size	hl_ctx_start, .-hl_ctx_start

	.section .note.GNU-stack,"",%progbits

/*
 * sched/ctx_x86_64.S — goroutine context switch for x86-64 (System V).
 *
 *   void hl_ctx_switch(void **save_sp, void *load_sp);
 *
 * Pushes the callee-saved registers (rbp, rbx, r12-r15) and the FP control
 * words (MXCSR, x87 control word) on the current stack, stores the stack
 * pointer in *save_sp, loads load_sp and pops the same frame from the new
 * stack. Everything else is caller-saved by the ABI, so this is a complete
 * switch for a call site. The control words are loaded only when they
 * differ from the current ones (ldmxcsr and fldcw cost more than a
 * compare; goroutines rarely change them). A new goroutine's stack is prepared by
 * ctx_make (ctx.c) with a frame whose return address is hl_ctx_start.
 *
 *   frame (low -> high): [mxcsr | x87cw] r15 r14 r13 r12 rbx rbp ret
 */
	.text
	.globl	hl_ctx_switch
	.hidden	hl_ctx_switch
	.type	hl_ctx_switch, @function
	.p2align 4
hl_ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	$0			/* bytes 6-7 stay zero */
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %eax		/* loads the size of the stores: one */
	movzwl	4(%rsp), %ecx		/* 8-byte load stalls store forwarding */
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	cmpl	(%rsp), %eax
	jne	2f			/* loading them costs more than comparing */
	cmpw	4(%rsp), %cx
	jne	2f
1:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
2:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	1b
	.cfi_endproc
	.size	hl_ctx_switch, .-hl_ctx_switch

/*
 * First code of a new goroutine: ctx_make put the entry function in r12
 * and its argument in r13. The entry never returns; a return would be a
 * runtime bug, so trap.
 */
	.globl	hl_ctx_start
	.hidden	hl_ctx_start
	.type	hl_ctx_start, @function
	.p2align 4
hl_ctx_start:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	hl_ctx_start, .-hl_ctx_start

	.section .note.GNU-stack,"",@progbits

// binarytrees: the Benchmarks Game binary-trees (GCBench shape) writing a
// runtime/trace of the whole run, the Go side of heaplab's MMU
// comparison (scripts/go_mmu.sh). Usage: binarytrees DEPTH TRACEFILE.
// GOMAXPROCS and GOGC as for any Go program.
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"strconv"
	"sync"
)

type node struct{ left, right *node }

func bottomUp(d int) *node {
	if d <= 0 {
		return &node{}
	}
	return &node{bottomUp(d - 1), bottomUp(d - 1)}
}

func (n *node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: binarytrees DEPTH TRACEFILE")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 4 {
		fmt.Fprintln(os.Stderr, "binarytrees: DEPTH must be an integer >= 4")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	maxDepth := n
	if maxDepth < 6 {
		maxDepth = 6
	}
	stretch := maxDepth + 1
	fmt.Printf("stretch tree of depth %d\t check: %d\n", stretch, bottomUp(stretch).check())
	long := bottomUp(maxDepth)
	out := make([]string, maxDepth+1)
	var wg sync.WaitGroup
	for d := 4; d <= maxDepth; d += 2 {
		wg.Add(1)
		go func(d int) {
			defer wg.Done()
			iters := 1 << uint(maxDepth-d+4)
			chk := 0
			for i := 0; i < iters; i++ {
				chk += bottomUp(d).check()
			}
			out[d] = fmt.Sprintf("%d\t trees of depth %d\t check: %d", iters, d, chk)
		}(d)
	}
	wg.Wait()
	for d := 4; d <= maxDepth; d += 2 {
		fmt.Println(out[d])
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, long.check())
	trace.Stop()
	f.Close()
}

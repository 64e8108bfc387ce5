// bench/gc/go/gcbench.go — the Go side of heaplab's collector benchmarks:
// the same workloads, with the same definitions, as workloads/ (heaplab,
// program gc_heaplab) and bench/gc/boehm.c (Boehm GC, program gc_boehm).
// scripts/gc_bench.sh builds this file with `go build` (no module, only
// the standard library) and runs the three side by side.
//
//	gcbench binarytrees [depth=N] [min_depth=N] [parallel=0|1] [-q]
//	gcbench gcbench [stretch_depth=N] [long_lived_depth=N]
//	                [array_size=N] [min_depth=N] [max_depth=N] [-q]
//
// Read workloads/workloads.h for the definitions; in short:
//   - binary-trees: the Benchmarks Game's, structured as its Go #2 program
//     (a goroutine for the stretch tree, one for the long-lived tree and
//     one per depth, all started at once); nodes {left, right}, built
//     bottom-up (children first); check = node count, walked.
//   - GCBench: Boehm and Ellis's, in one goroutine; nodes {left, right,
//     i, j int32} (24 bytes); top-down Populate and bottom-up MakeTree.
//
// Processors come from GOMAXPROCS, the heap growth from GOGC (both set by
// the script). Output: the workload's own lines (unless -q), then
//
//	result side=go workload=W params=P wall_ns=N check=C expected=E ok=1
//	       procs=P numgc=K pause_total_ns=T gc_cpu_fraction=F ...
//	pauses ns=P1,P2,...    (the last min(numgc, 256) cycles' pauses)
//
// from runtime.ReadMemStats after the run. Single stop-the-world pauses
// and assist time are not in MemStats: the script runs this program with
// GODEBUG=gctrace=1 and reads them from the trace on stderr.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ------------------------------------------------------------ binary-trees

type btNode struct {
	left, right *btNode
}

// Bottom-up, children first, then the node.
func btMake(depth int) *btNode {
	if depth <= 0 {
		return &btNode{}
	}
	l := btMake(depth - 1)
	r := btMake(depth - 1)
	n := &btNode{}
	n.left = l
	n.right = r
	return n
}

func btCheck(n *btNode) uint64 {
	if n.left == nil {
		return 1
	}
	return 1 + btCheck(n.left) + btCheck(n.right)
}

func treeSize(depth int) uint64 { return (uint64(1) << uint(depth+1)) - 1 }

type metrics struct {
	wallNs          int64
	check, expected uint64
	objects, bytes  uint64
	ok              bool
}

func binarytrees(p map[string]int, quiet bool) metrics {
	min := p["min_depth"]
	max := p["depth"]
	if max < min+2 {
		max = min + 2
	}
	type task struct {
		depth      int
		iterations uint64
		check      uint64
	}
	tasks := []*task{{depth: max + 1, iterations: 1}, {depth: max, iterations: 1}}
	for d := min; d <= max; d += 2 {
		tasks = append(tasks, &task{depth: d, iterations: uint64(1) << uint(max-d+min)})
	}
	t0 := time.Now()
	var longLived *btNode
	run := func(i int) {
		t := tasks[i]
		switch i {
		case 0:
			t.check = btCheck(btMake(t.depth))
		case 1:
			longLived = btMake(t.depth)
		default:
			var acc uint64
			for j := uint64(0); j < t.iterations; j++ {
				acc += btCheck(btMake(t.depth))
			}
			t.check = acc
		}
	}
	if p["parallel"] != 0 {
		var wg sync.WaitGroup
		wg.Add(len(tasks))
		for i := range tasks {
			go func(i int) {
				run(i)
				wg.Done()
			}(i)
		}
		wg.Wait()
	} else {
		for i := range tasks {
			run(i)
		}
	}
	tasks[1].check = btCheck(longLived)
	m := metrics{wallNs: time.Since(t0).Nanoseconds()}
	for _, t := range tasks {
		m.check += t.check
		m.expected += t.iterations * treeSize(t.depth)
		m.objects += t.iterations * treeSize(t.depth)
	}
	m.bytes = m.objects * 16
	m.ok = m.check == m.expected
	if !quiet {
		fmt.Printf("stretch tree of depth %d\t check: %d\n", tasks[0].depth, tasks[0].check)
		for _, t := range tasks[2:] {
			fmt.Printf("%d\t trees of depth %d\t check: %d\n", t.iterations, t.depth, t.check)
		}
		fmt.Printf("long lived tree of depth %d\t check: %d\n", tasks[1].depth, tasks[1].check)
	}
	return m
}

// ----------------------------------------------------------------- GCBench

type gcbNode struct {
	left, right *gcbNode
	i, j        int32
}

// Top-down: the children are allocated and stored into the older node.
func gcbPopulate(depth int, node *gcbNode) {
	if depth <= 0 {
		return
	}
	depth--
	node.left = &gcbNode{}
	node.right = &gcbNode{}
	gcbPopulate(depth, node.left)
	gcbPopulate(depth, node.right)
}

func gcbMake(depth int) *gcbNode {
	if depth <= 0 {
		return &gcbNode{}
	}
	l := gcbMake(depth - 1)
	r := gcbMake(depth - 1)
	n := &gcbNode{}
	n.left = l
	n.right = r
	return n
}

func gcbCount(n *gcbNode) uint64 {
	if n == nil {
		return 0
	}
	return 1 + gcbCount(n.left) + gcbCount(n.right)
}

// A package variable the dropped trees are written to, so that the
// compiler keeps building them (as gcb_sink in C).
var sink *gcbNode

func gcbench(p map[string]int, quiet bool) metrics {
	say := func(format string, a ...interface{}) {
		if !quiet {
			fmt.Printf(format, a...)
		}
	}
	stretch, longDepth, arraySize := p["stretch_depth"], p["long_lived_depth"], p["array_size"]
	var nodes uint64
	say("Garbage Collector Test\n")
	say(" Live storage will peak at %d bytes.\n\n", 2*24*treeSize(longDepth)+8*uint64(arraySize))
	say(" Stretching memory with a binary tree of depth %d\n", stretch)
	t0 := time.Now()

	sink = gcbMake(stretch)
	sink = nil
	nodes += treeSize(stretch)

	say(" Creating a long-lived binary tree of depth %d\n", longDepth)
	longLived := &gcbNode{}
	gcbPopulate(longDepth, longLived)
	nodes += treeSize(longDepth)

	say(" Creating a long-lived array of %d doubles\n", arraySize)
	array := make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := p["min_depth"]; d <= p["max_depth"]; d += 2 {
		iters := 2 * treeSize(stretch) / treeSize(d)
		say("Creating %d trees of depth %d\n", iters, d)
		t := time.Now()
		for i := uint64(0); i < iters; i++ {
			temp := &gcbNode{}
			gcbPopulate(d, temp)
			sink = temp
		}
		say("\tTop down construction took %d msec\n", time.Since(t).Milliseconds())
		t = time.Now()
		for i := uint64(0); i < iters; i++ {
			sink = gcbMake(d)
		}
		say("\tBottom up construction took %d msec\n", time.Since(t).Milliseconds())
		sink = nil
		nodes += 2 * iters * treeSize(d)
	}

	check := gcbCount(longLived)
	arrayOK := array[1000] == 1.0/1000
	el := time.Since(t0)
	if !arrayOK {
		say("Failed: array[1000] != 1.0/1000\n")
	}
	say("Completed in %d msec\n", el.Milliseconds())
	return metrics{wallNs: el.Nanoseconds(), check: check, expected: treeSize(longDepth),
		objects: nodes + 1, bytes: nodes*24 + 8*uint64(arraySize),
		ok: check == treeSize(longDepth) && arrayOK}
}

// ------------------------------------------------------------------- main

type param struct {
	name          string
	def, min, max int
}

var workloads = map[string][]param{
	"binarytrees": {{"depth", 10, 1, 29}, {"min_depth", 4, 0, 27}, {"parallel", 1, 0, 1}},
	"gcbench": {{"stretch_depth", 18, 1, 30}, {"long_lived_depth", 16, 1, 30},
		{"array_size", 500000, 1001, 100000000}, {"min_depth", 4, 0, 30}, {"max_depth", 16, 0, 30}},
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "gcbench: %s\nusage: gcbench binarytrees|gcbench [name=value ...] [-q]\n", msg)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage("no workload")
	}
	name := os.Args[1]
	params, found := workloads[name]
	if !found {
		usage("unknown workload '" + name + "'")
	}
	p := map[string]int{}
	for _, q := range params {
		p[q.name] = q.def
	}
	quiet := false
	var given []string
	for _, a := range os.Args[2:] {
		if a == "-q" {
			quiet = true
			continue
		}
		kv := strings.SplitN(a, "=", 2)
		ok := false
		for _, q := range params {
			if len(kv) == 2 && kv[0] == q.name {
				v, err := strconv.Atoi(kv[1])
				if err != nil || v < q.min || v > q.max {
					usage(fmt.Sprintf("option '%s': %s wants an integer in %d..%d", a, q.name, q.min, q.max))
				}
				p[q.name] = v
				ok = true
			}
		}
		if !ok {
			usage("unknown option '" + a + "'")
		}
		given = append(given, a)
	}
	if name == "gcbench" && (p["max_depth"] < p["min_depth"] || p["max_depth"] > p["stretch_depth"]) {
		usage("gcbench wants min_depth <= max_depth <= stretch_depth")
	}

	var m metrics
	if name == "binarytrees" {
		m = binarytrees(p, quiet)
	} else {
		m = gcbench(p, quiet)
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	okInt := 0
	if m.ok {
		okInt = 1
	}
	sort.Strings(given)
	paramStr := strings.Join(given, ",")
	if paramStr == "" {
		paramStr = "-"
	}
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = "100"
	}
	fmt.Printf("result side=go workload=%s params=%s wall_ns=%d check=%d expected=%d ok=%d "+
		"objects=%d bytes=%d procs=%d gc_percent=%s numgc=%d numforced=%d pause_total_ns=%d "+
		"gc_cpu_fraction=%.6f heap_sys=%d total_alloc=%d\n",
		name, paramStr, m.wallNs, m.check, m.expected, okInt, m.objects, m.bytes,
		runtime.GOMAXPROCS(0), gogc, ms.NumGC, ms.NumForcedGC, ms.PauseTotalNs,
		ms.GCCPUFraction, ms.HeapSys, ms.TotalAlloc)
	n := int(ms.NumGC)
	if n > 256 {
		n = 256
	}
	ps := make([]string, 0, n)
	for i := int(ms.NumGC) - n; i < int(ms.NumGC); i++ {
		ps = append(ps, strconv.FormatUint(ms.PauseNs[i%256], 10))
	}
	fmt.Printf("pauses ns=%s\n", strings.Join(ps, ","))
	if !m.ok {
		fmt.Fprintf(os.Stderr, "gcbench: %s: check %d, expected %d\n", name, m.check, m.expected)
		os.Exit(1)
	}
}

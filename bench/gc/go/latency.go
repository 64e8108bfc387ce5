//go:build ignore

// bench/gc/go/latency.go — the Go side of two latency workloads of
// workloads/ (docs/workloads.md): msgring and prodcons, with the same
// definitions, parameters, defaults and checksums as the heaplab side
// (workloads/msgring.c, workloads/prodcons.c), to run the same workload on
// Go's runtime for comparison. Standard library only; the build tag keeps
// it out of the directory's package (gcbench.go): build it by name,
//
//	GO111MODULE=off go build -o latency-go bench/gc/go/latency.go
//	latency-go msgring [window=N] [messages=N] [size=N]
//	latency-go prodcons [producers=N] [consumers=N] [capacity=N]
//	                    [messages=N] [size=N]
//
// Processors from GOMAXPROCS, heap growth from GOGC. Output: the summary
// line, then
//
//	result side=go workload=W wall_ns=N check=C expected=E ok=1
//	       lat_p50=.. lat_p99=.. lat_p999=.. lat_max=.. (ns) numgc=K
//	       pause_total_ns=T
//
// Percentiles here are exact (the samples are sorted); heaplab's come from
// a histogram at most 1.6% above them.
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

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type result struct {
	wallNs          int64
	check, expected uint64
	ok              bool
	lat             []int64
}

// ---------------------------------------------------------------- msgring

func msgring(p map[string]int64) result {
	window, messages, size := p["window"], p["messages"], p["size"]
	ring := make([][]byte, window)
	lat := make([]int64, messages)
	t0 := time.Now()
	for n := int64(0); n < messages; n++ {
		a := time.Now()
		m := make([]byte, size)
		v := uint64(n)
		for i := 0; i < 8; i++ {
			m[i] = byte(v >> (8 * i))
		}
		for i := int64(8); i < size; i++ {
			m[i] = byte(n)
		}
		ring[n%window] = m
		lat[n] = time.Since(a).Nanoseconds()
	}
	r := result{lat: lat, ok: true}
	first := int64(0)
	if messages > window {
		first = messages - window
	}
	for n := first; n < messages; n++ {
		r.expected += mix64(uint64(n))
	}
	for s := int64(0); s < window && s < messages; s++ {
		m := ring[s]
		var v uint64
		for i := 0; i < 8; i++ {
			v |= uint64(m[i]) << (8 * i)
		}
		for i := int64(8); i < size; i++ {
			if m[i] != byte(v) {
				r.ok = false
			}
		}
		if int64(v%uint64(window)) != s {
			r.ok = false
		}
		r.check += mix64(v)
	}
	r.wallNs = time.Since(t0).Nanoseconds()
	r.ok = r.ok && r.check == r.expected
	fmt.Printf("msgring: %d pushes of %d bytes, window %d\n", messages, size, window)
	return r
}

// --------------------------------------------------------------- prodcons

type msg struct {
	payload []byte
	sent    time.Time
	id      uint64
}

func prodcons(p map[string]int64) result {
	P, C, K, n, size := p["producers"], p["consumers"], p["capacity"], p["messages"], p["size"]
	ch := make(chan *msg, K)
	lats := make([][]int64, C)
	sums := make([]uint64, C)
	oks := make([]bool, C)
	t0 := time.Now()
	var pwg, cwg sync.WaitGroup
	cwg.Add(int(C))
	for c := int64(0); c < C; c++ {
		go func(c int64) {
			ok := true
			for m := range ch {
				lats[c] = append(lats[c], time.Since(m.sent).Nanoseconds())
				b := byte(mix64(m.id))
				var v uint64
				for i := 0; i < 8; i++ {
					v |= uint64(m.payload[i]) << (8 * i)
				}
				for _, x := range m.payload[8:] {
					ok = ok && x == b
				}
				ok = ok && v == m.id
				sums[c] += m.id
			}
			oks[c] = ok
			cwg.Done()
		}(c)
	}
	pwg.Add(int(P))
	for i := int64(0); i < P; i++ {
		go func(first int64) {
			for id := uint64(first); id < uint64(n); id += uint64(P) {
				pl := make([]byte, size)
				for j := 0; j < 8; j++ {
					pl[j] = byte(id >> (8 * j))
				}
				b := byte(mix64(id))
				for j := range pl[8:] {
					pl[8+j] = b
				}
				m := &msg{payload: pl, id: id}
				m.sent = time.Now()
				ch <- m
			}
			pwg.Done()
		}(i)
	}
	pwg.Wait()
	close(ch)
	cwg.Wait()
	r := result{wallNs: time.Since(t0).Nanoseconds(), ok: true}
	un := uint64(n)
	if un%2 == 0 {
		r.expected = un / 2 * (un - 1)
	} else {
		r.expected = (un - 1) / 2 * un
	}
	for c := range lats {
		r.lat = append(r.lat, lats[c]...)
		r.check += sums[c]
		r.ok = r.ok && oks[c]
	}
	r.ok = r.ok && r.check == r.expected && int64(len(r.lat)) == n
	fmt.Printf("prodcons: %d producers, %d consumers, capacity %d: %d messages\n", P, C, K, len(r.lat))
	return r
}

// ------------------------------------------------------------------- main

var defaults = map[string]map[string]int64{
	"msgring":  {"window": 200000, "messages": 1000000, "size": 1024},
	"prodcons": {"producers": 2, "consumers": 2, "capacity": 128, "messages": 2000000, "size": 64},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: latency-go msgring|prodcons [name=value ...]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 || defaults[os.Args[1]] == nil {
		usage()
	}
	w := os.Args[1]
	p := map[string]int64{}
	for k, v := range defaults[w] {
		p[k] = v
	}
	for _, a := range os.Args[2:] {
		kv := strings.SplitN(a, "=", 2)
		if _, known := p[kv[0]]; !known || len(kv) != 2 {
			fmt.Fprintf(os.Stderr, "%s: unknown option '%s'\n", w, a)
			usage()
		}
		v, err := strconv.ParseInt(kv[1], 10, 64)
		min := int64(1)
		if kv[0] == "capacity" {
			min = 0
		} else if kv[0] == "size" {
			min = 16
		}
		if err != nil || v < min {
			fmt.Fprintf(os.Stderr, "%s: option '%s': %s wants an integer >= %d\n", w, a, kv[0], min)
			os.Exit(2)
		}
		p[kv[0]] = v
	}
	var r result
	if w == "msgring" {
		r = msgring(p)
	} else {
		r = prodcons(p)
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	q := func(f float64) int64 {
		if len(r.lat) == 0 {
			return 0
		}
		k := int(f*float64(len(r.lat)) + 0.999999)
		if k < 1 {
			k = 1
		}
		if k > len(r.lat) {
			k = len(r.lat)
		}
		return r.lat[k-1]
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ok := 0
	if r.ok {
		ok = 1
	}
	fmt.Printf("result side=go workload=%s wall_ns=%d check=%d expected=%d ok=%d "+
		"lat_p50=%d lat_p99=%d lat_p999=%d lat_max=%d procs=%d numgc=%d pause_total_ns=%d\n",
		w, r.wallNs, r.check, r.expected, ok, q(0.5), q(0.99), q(0.999), q(1.0),
		runtime.GOMAXPROCS(0), ms.NumGC, ms.PauseTotalNs)
	if !r.ok {
		os.Exit(1)
	}
}

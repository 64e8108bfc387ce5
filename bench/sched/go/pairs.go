// bench/sched/go/pairs.go — the Go side of heaplab's scheduler benchmark
// pairs. Each subcommand is the same benchmark, with the same definition,
// as the subcommand of the same name of bench/sched/pairs.c (executable
// sched_pairs); scripts/sched_bench.sh builds this file with `go build`
// and runs both side by side. Read pairs.c for the definitions; they are
// repeated here only as one line each.
//
// Processors come from GOMAXPROCS (set by the script, as HLMAXPROCS for
// heaplab). Each run prints one line:
//
//	result bench=NAME value=X unit=U procs=P n=N
//
// Only the standard library is used, so `go build pairs.go` needs no
// module, no network and no go.mod.
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: %s BENCH [ARGS]
  yield N            two goroutines, N runtime.Gosched each: ns per switch
  spawn N            N empty goroutines waited with a WaitGroup: ns each
  pingpong N         N round trips over two unbuffered channels: ns each
  ring HOPS          503 goroutines in a ring of channels: ns per hop
  sleep N MS         N goroutines each sleeping MS ms: total wall ms
  parked N           N goroutines parked on a channel: RSS KiB each
  echo-server PORT SECONDS
                     echo server on 127.0.0.1:PORT (0: any), stops after
                     SECONDS; prints "listening PORT"
`, os.Args[0])
	os.Exit(2)
}

func argInt(i int) int {
	if len(os.Args) <= i {
		usage()
	}
	v, err := strconv.Atoi(os.Args[i])
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "%s: argument %q: a positive integer "+
			"expected\n", os.Args[0], os.Args[i])
		os.Exit(2)
	}
	return v
}

func result(bench string, value float64, unit string, n int) {
	fmt.Printf("result bench=%s value=%.3f unit=%s procs=%d n=%d\n", bench,
		value, unit, runtime.GOMAXPROCS(0), n)
}

// yield: the main goroutine and one partner each call Gosched N times;
// then main yields until the partner is done. Switches = 2N.
func benchYield(n int) {
	var done int32
	go func() {
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
		atomic.StoreInt32(&done, 1)
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	for atomic.LoadInt32(&done) == 0 {
		runtime.Gosched()
	}
	el := time.Since(t0)
	result("yield", float64(el.Nanoseconds())/float64(2*n), "ns/switch", n)
}

// spawn: one untimed round, then a timed one: wg.Add(N), N goroutines
// that only call wg.Done, wg.Wait.
func spawnRound(n int) time.Duration {
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	return time.Since(t0)
}

func benchSpawn(n int) {
	spawnRound(n)
	el := spawnRound(n)
	result("spawn", float64(el.Nanoseconds())/float64(n), "ns/goroutine", n)
}

// pingpong: main sends i on ping, the partner receives it and sends it
// back on pong, main receives it. One round trip = two handoffs.
func benchPingpong(n int) {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		if <-pong != i {
			panic("pingpong: wrong value")
		}
	}
	el := time.Since(t0)
	close(ping)
	result("pingpong", float64(el.Nanoseconds())/float64(n), "ns/roundtrip", n)
}

// ring: the Benchmarks Game thread-ring. 503 goroutines, goroutine i
// receives the token on ring[i] and sends token-1 on ring[(i+1)%503];
// the one that receives 0 reports on done. Timed from the first send to
// the report; ns per hop = elapsed / HOPS.
const ringSize = 503

func benchRing(hops int) {
	var ring [ringSize]chan int
	for i := range ring {
		ring[i] = make(chan int)
	}
	done := make(chan int)
	for i := 0; i < ringSize; i++ {
		go func(i int) {
			in, out := ring[i], ring[(i+1)%ringSize]
			for {
				t := <-in
				if t == 0 {
					done <- i
					return
				}
				out <- t - 1
			}
		}(i)
	}
	t0 := time.Now()
	ring[0] <- hops
	who := <-done
	el := time.Since(t0)
	if who != hops%ringSize {
		panic("ring: wrong goroutine holds the last token")
	}
	result("ring", float64(el.Nanoseconds())/float64(hops), "ns/hop", hops)
}

// sleep: N goroutines each sleep MS ms; wall time from the first spawn to
// wg.Wait returning.
func benchSleep(n, ms int) {
	var wg sync.WaitGroup
	d := time.Duration(ms) * time.Millisecond
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(d)
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	result("sleep", float64(el.Nanoseconds())/1e6, "ms", n)
}

// rssBytes reads the resident set size from /proc/self/statm (pages).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	f := bytes.Fields(b)
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		panic(err)
	}
	return pages * int64(os.Getpagesize())
}

// parked: RSS before; N goroutines each count themselves and block
// receiving from one channel; once all have counted, 50 ms more to let
// the last ones park, RSS after. Value: (after - before) / N in KiB.
func benchParked(n int) {
	ch := make(chan struct{})
	var started int64
	before := rssBytes()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			<-ch
		}()
	}
	for atomic.LoadInt64(&started) < int64(n) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	after := rssBytes()
	result("parked", float64(after-before)/1024/float64(n), "KiB/goroutine", n)
	// the parked goroutines are abandoned when main returns
}

// echo-server: one goroutine per connection reads up to 4 KiB and writes
// it back, until EOF. TCP_NODELAY is Go's default (as in the heaplab
// server, which sets it). The process exits after SECONDS.
func benchEchoServer(port, seconds int) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-server: listen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	time.AfterFunc(time.Duration(seconds)*time.Second, func() { os.Exit(0) })
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}(c)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "yield":
		benchYield(argInt(2))
	case "spawn":
		benchSpawn(argInt(2))
	case "pingpong":
		benchPingpong(argInt(2))
	case "ring":
		benchRing(argInt(2))
	case "sleep":
		benchSleep(argInt(2), argInt(3))
	case "parked":
		benchParked(argInt(2))
	case "echo-server":
		port := 0
		if len(os.Args) > 2 && os.Args[2] != "0" {
			port = argInt(2)
		}
		benchEchoServer(port, argInt(3))
	default:
		usage()
	}
}

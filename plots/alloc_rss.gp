# plots/alloc_rss.gp — RSS over time of wl_smalllarge, one line per
# allocator, from bench/peers/allocbench.py's rss_time.dat.
#
#   gnuplot -c plots/alloc_rss.gp DATADIR [OUT.png]
#
# DATADIR/rss_time.dat holds one block per allocator (blocks separated by
# two blank lines), each starting with a header line "t_s <allocator>
# phase", then "seconds RSS_MiB MARK": MARK repeats the RSS on the samples
# where the burst1, burst2 and end phases start ("?" elsewhere) and is drawn
# as a dot on the allocator's line. After each burst of frees, an allocator
# that returns memory to the OS shows its line falling. This script only
# reads that file.

dir = (ARGC >= 1) ? ARG1 : "out/alloc"
out = (ARGC >= 2) ? ARG2 : dir . "/alloc_rss.png"
data = dir . "/rss_time.dat"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 1200,700 font "Sans,10" noenhanced
} else {
  set terminal png size 1200,700 noenhanced
}
set output out

set datafile missing "?"
set title "wl_smalllarge, 1 thread: RSS over time (dots: start of burst1, burst2, end of timed phases)"
set xlabel "seconds since the start of the growth phase"
set ylabel "RSS (MiB)"
set yrange [0:*]
set key top right
set grid

plot for [i=0:*] data index i using 1:2 with lines lw 2 lc i+1 title columnheader(2), \
     for [i=0:*] data index i using 1:3 with points pt 7 ps 1.3 lc i+1 notitle

# plots/throughput.gp — throughput and peak RSS per configuration, as
# bars (the median over repetitions) with the min-max range as error
# bars. Data is written by `heaplab plot throughput`:
#
#   dir/bars.tsv  label thr_median thr_min thr_max rss_median rss_min rss_max
#   ylabel        what the throughput is (e.g. "runs/s (1 / wall_s)")
if (!exists("dir")) dir = "."
if (!exists("out")) out = "throughput"
if (!exists("terms")) terms = "png svg"
if (!exists("ylabel")) ylabel = "throughput"
data = dir."/bars.tsv"
nrows = int(system(sprintf("wc -l < '%s'", data)))

set datafile separator "\t"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -30 left
set yrange [0:*]
set key off
width = nrows * 90 + 300
width = width < 800 ? 800 : width

do for [term in terms] {
  if (term eq "png") {
    set terminal pngcairo size width,900 noenhanced
    set output out.".png"
  } else {
    set terminal svg size width,900 noenhanced
    set output out.".svg"
  }
  set multiplot layout 2,1
  set title "throughput (higher is better)"
  set ylabel ylabel
  plot data using 0:2:xticlabels(1) with boxes lc 1, \
       data using 0:2:3:4 with yerrorbars lc rgb "black" pt 0
  set title "peak RSS (lower is better)"
  set ylabel "MiB"
  plot data using 0:5:xticlabels(1) with boxes lc 2, \
       data using 0:5:6:7 with yerrorbars lc rgb "black" pt 0
  unset multiplot
  unset output
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/query"
)

// measure drives the load, waits for the drain and fills res.
func measure(ctx context.Context, o Options, st *stack, res *Result) error {
	log := st.log
	pids := map[string]int{}
	for _, p := range st.procs {
		pids[p.Name] = p.cmd.Process.Pid
	}
	servers, missing := serverPIDs(o.StateDir)
	for n, pid := range servers {
		pids[n] = pid
	}
	res.MissingServers = missing
	systems := map[string]*query.Client{
		"legacy":  query.NewClient(st.url(componentNamed("legacy-serve")), query.WithToken(st.token)),
		"nextgen": query.NewClient(st.url(componentNamed("nextgen-serve")), query.WithToken(st.token)),
	}
	collector := st.url(componentNamed("collector"))
	kc := &kafka.Client{Addr: kafka.TCP(st.brokers...), Timeout: 10 * time.Second}

	if o.WarmupEvents > 0 {
		if err := warmUp(ctx, o, st, kc); err != nil {
			return err
		}
	}
	records0, err := consumerRecords(ctx, st)
	if err != nil {
		return err
	}
	ms0, err := scrape(ctx, collector, st.token)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	accepted0 := ms0.sum("brooks_collector_accepted_total", nil) // the warm-up's
	cpu0, err := readCPU(pids)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	mach0, _ := machineCPU()
	res.LoadAvgStart = loadAvg()

	fresh := newFreshness(collector, systems, res.ID, time.Now())
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	probeCtx, stopProbes := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); fresh.poll(pollCtx, o.PollInterval) }()
	go func() { defer wg.Done(); fresh.sendEvery(probeCtx, o.ProbeInterval) }()

	log.Info("load", "duration", o.Duration, "batch", o.Batch, "concurrency", o.Concurrency)
	start := time.Now()
	tl := &timeline{}
	wg.Add(1)
	go func() { defer wg.Done(); tl.run(pollCtx, st, start, time.Second) }()
	lg, lgOut, err := st.loadgen(ctx, o)
	end := time.Now()
	stopProbes()
	if err != nil {
		stopPoll()
		wg.Wait()
		return fmt.Errorf("bench: loadgen: %w: %s", err, lastLines(lgOut, 5))
	}
	_ = os.WriteFile(filepath.Join(st.dir, "loadgen.log"), lgOut, 0o644)
	res.LoadSeconds = end.Sub(start).Seconds()
	res.Loadgen = lg

	records1, err := consumerRecords(ctx, st)
	if err != nil {
		return err
	}
	ms, err := scrape(ctx, collector, st.token)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	accepted := ms.sum("brooks_collector_accepted_total", nil) - accepted0
	res.Accepted = int64(accepted)
	res.AcceptedPerSec = accepted / res.LoadSeconds
	res.LoadAvgLoadEnd = loadAvg()

	// Drain: every group's committed lag at zero.
	log.Info("drain", "accepted", res.Accepted)
	res.Consumers = make([]Consumer, 0, len(st.consumers()))
	for _, p := range st.consumers() {
		res.Consumers = append(res.Consumers, Consumer{
			Name: p.Name, Group: p.group,
			RatePerSec:   (records1[p.Name] - records0[p.Name]) / res.LoadSeconds,
			LagAtLoadEnd: -1, DrainSeconds: -1,
		})
	}
	deadline := end.Add(o.DrainTimeout)
	for {
		left := 0
		for i := range res.Consumers {
			c := &res.Consumers[i]
			lag, per, err := groupLag(ctx, kc, st.topic, c.Group, st.partitions)
			if err != nil {
				log.Warn("reading lag failed", "group", c.Group, "err", err)
				left++
				continue
			}
			if c.LagAtLoadEnd < 0 {
				c.LagAtLoadEnd = lag
			}
			c.FinalLag, c.FinalLagByPartition = lag, per
			if lag == 0 && c.DrainSeconds < 0 {
				c.DrainSeconds = time.Since(end).Seconds()
			}
			if c.DrainSeconds < 0 {
				left++
			}
		}
		if left == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	drained := time.Now()
	res.DrainSeconds = drained.Sub(end).Seconds()
	res.Drained = true
	for _, c := range res.Consumers {
		res.Drained = res.Drained && c.DrainSeconds >= 0
	}
	cpu1, err := readCPU(pids)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	mach1, _ := machineCPU()
	res.LoadAvgDrained = loadAvg()
	window := drained.Sub(start)
	res.WindowSeconds = window.Seconds()
	res.CPU = cpuFigures(cpu0, cpu1, pids, servers, res.Accepted, window)
	res.MachineCPUSeconds = (mach1 - mach0).Seconds()
	res.LoadgenCPUPerEventUS = perEvent(lg.CPU, res.Accepted)

	// Freshness: the probes still unseen get a little longer.
	fresh.waitSeen(ctx, 30*time.Second)
	stopPoll()
	wg.Wait()
	res.Freshness = fresh.result()
	res.Timeline = tl.get()
	res.AcceptedMedianPerSec = medianRate(res.Timeline, func(t Tick) float64 { return t.Accepted }, 0, res.LoadSeconds)
	for i := range res.Consumers {
		c := &res.Consumers[i]
		c.MedianRatePerSec = medianRate(res.Timeline, func(t Tick) float64 { return t.Records[c.Name] }, 0, res.LoadSeconds)
	}

	if o.QueryReps > 0 {
		log.Info("queries", "reps", o.QueryReps)
		res.Queries = benchQueries(ctx, systems, time.Now(), o.QueryReps)
	}
	res.Finished = time.Now().UTC()
	return nil
}

// warmUp sends a few events at a low rate and waits until every group has
// committed them: connections, indices and each engine's eid memory (which
// reads back up to --prime-limit stored eids of the partition's recent
// hours, earlier runs' included) are ready before the measured load.
func warmUp(ctx context.Context, o Options, st *stack, kc *kafka.Client) error {
	st.log.Info("warm-up", "events", o.WarmupEvents)
	args := []string{"loadgen", "--target", st.url(componentNamed("collector")), "--events", strconv.Itoa(o.WarmupEvents),
		"--rate", "500", "--batch", "10", "--concurrency", "2"}
	if out, err := st.command(ctx, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("bench: warm-up loadgen: %w: %s", err, lastLines(out, 5))
	}
	deadline := time.Now().Add(o.DrainTimeout)
	for {
		left := 0
		for _, p := range st.consumers() {
			if lag, _, err := groupLag(ctx, kc, st.topic, p.group, st.partitions); err != nil || lag > 0 {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d consumers had not committed the warm-up after %v", left, o.DrainTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// consumerRecords is each consumer's brooks_consumer_records_total.
func consumerRecords(ctx context.Context, st *stack) (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range st.consumers() {
		ms, err := scrape(ctx, "http://"+p.addr, st.token)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		out[p.Name] = ms.sum("brooks_consumer_records_total", map[string]string{"group": p.group})
	}
	return out, nil
}

// loadgen runs bin/brooks loadgen against the collector as its own process
// and returns its CPU time and output.
func (s *stack) loadgen(ctx context.Context, o Options) (LoadgenFigure, []byte, error) {
	args := []string{"loadgen", "--target", s.url(componentNamed("collector")), "--duration", o.Duration.String(),
		"--batch", strconv.Itoa(o.Batch), "--concurrency", strconv.Itoa(o.Concurrency)}
	cmd := s.command(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	fig := LoadgenFigure{Args: args}
	if cmd.ProcessState != nil {
		fig.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		fig.CPUSeconds = fig.CPU.Seconds()
	}
	return fig, out.Bytes(), err
}

// cpuFigures are each process's CPU over the window, per accepted event
// and as a share of one core.
func cpuFigures(c0, c1 cpuSnapshot, pids map[string]int, servers map[string]int, accepted int64, window time.Duration) []CPUFigure {
	var out []CPUFigure
	add := func(name, kind string) {
		d := c1[name] - c0[name]
		out = append(out, CPUFigure{
			Process: name, Kind: kind, PID: pids[name], CPUSeconds: d.Seconds(),
			PerEventUS: perEvent(d, accepted), Cores: d.Seconds() / window.Seconds(),
		})
	}
	for _, c := range components {
		if _, ok := pids[c.Name]; ok {
			add(c.Name, "brooks")
		}
	}
	for _, s := range Servers {
		if _, ok := servers[s]; ok {
			add(s, "server")
		}
	}
	return out
}

// perEvent is d in microseconds per event (0 with no events).
func perEvent(d time.Duration, events int64) float64 {
	if events <= 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(events)
}

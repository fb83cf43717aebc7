package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// sample is one line of the Prometheus text format.
type sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// samples are a scrape of /metrics.
type samples []sample

// sum adds the values of the series named name whose labels include want.
func (ss samples) sum(name string, want map[string]string) float64 {
	var t float64
next:
	for _, s := range ss {
		if s.Name != name {
			continue
		}
		for k, v := range want {
			if s.Labels[k] != v {
				continue next
			}
		}
		t += s.Value
	}
	return t
}

// parseMetrics reads the Prometheus text exposition format: comments are
// skipped, a malformed line is an error.
func parseMetrics(r io.Reader) (samples, error) {
	var out samples
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLine(line string) (sample, error) {
	s := sample{Labels: map[string]string{}}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return s, fmt.Errorf("unbalanced braces in %q", line)
		}
		s.Name = line[:i]
		if err := parseLabels(line[i+1:j], s.Labels); err != nil {
			return s, err
		}
		rest = strings.TrimSpace(line[j+1:])
	} else {
		f := strings.Fields(line)
		if len(f) < 2 {
			return s, fmt.Errorf("no value in %q", line)
		}
		s.Name, rest = f[0], strings.Join(f[1:], " ")
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %q: %w", line, err)
	}
	s.Value = v
	return s, nil
}

// parseLabels reads name="value",... with \" \\ \n escapes.
func parseLabels(s string, into map[string]string) error {
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(strings.TrimSpace(s), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return fmt.Errorf("bad label in %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		var b strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return fmt.Errorf("unterminated label value in %q", s)
		}
		into[name] = b.String()
		s = s[i+1:]
	}
	return nil
}

var scrapeClient = &http.Client{Timeout: 5 * time.Second}

// scrape reads base/metrics with the bearer token.
func scrape(ctx context.Context, base, token string) (samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", base, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// groupLag is a consumer group's committed lag on the topic, summed over
// partitions: each partition's last offset minus its committed offset (the
// whole partition when nothing is committed), read from Kafka itself.
func groupLag(ctx context.Context, c *kafka.Client, topic, group string, partitions int) (int64, map[int]int64, error) {
	parts := make([]int, partitions)
	reqs := make([]kafka.OffsetRequest, 0, 2*partitions)
	for i := range parts {
		parts[i] = i
		reqs = append(reqs, kafka.FirstOffsetOf(i), kafka.LastOffsetOf(i))
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, nil, fmt.Errorf("list offsets: %w", err)
	}
	of, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return 0, nil, fmt.Errorf("offset fetch %s: %w", group, err)
	}
	if of.Error != nil {
		return 0, nil, fmt.Errorf("offset fetch %s: %w", group, of.Error)
	}
	committed := map[int]int64{}
	for _, p := range of.Topics[topic] {
		if p.Error != nil {
			return 0, nil, fmt.Errorf("offset fetch %s/%d: %w", group, p.Partition, p.Error)
		}
		committed[p.Partition] = p.CommittedOffset
	}
	var lag int64
	per := map[int]int64{}
	for _, p := range lo.Topics[topic] {
		if p.Error != nil {
			return 0, nil, fmt.Errorf("list offsets %d: %w", p.Partition, p.Error)
		}
		c, ok := committed[p.Partition]
		if !ok {
			c = -1
		}
		if d := partitionLag(p.FirstOffset, p.LastOffset, c); d > 0 {
			lag += d
			per[p.Partition] = d
		}
	}
	return lag, per, nil
}

// partitionLag is the records from the committed offset (next to read; -1
// for none: from the first offset) to the last offset (high-water mark).
// It is never negative.
func partitionLag(first, last, committed int64) int64 {
	from := committed
	if from < 0 {
		from = max(first, 0)
	}
	return max(last-from, 0)
}

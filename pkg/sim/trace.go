package sim

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Use is one dataset a job reads.
type Use struct {
	Path  string  `json:"path"`
	Bytes int64   `json:"bytes"` // dataset size; every job naming Path must agree
	Read  float64 `json:"read"`  // fraction of the dataset the job reads, (0,1]
}

// Job is one line of a trace. Times are seconds from the start of the trace.
type Job struct {
	ID     int64   `json:"id"`
	Submit float64 `json:"submit"` // sbatch time: the dataset request reaches warmupd
	Start  float64 `json:"start"`  // when Slurm starts the job (its prolog begins)
	// ExpectedStart is what `squeue --start` predicted at submit; 0 means "same as Start".
	ExpectedStart float64 `json:"expected_start,omitempty"`
	Duration      float64 `json:"duration"` // run time after the prolog
	Nodes         int     `json:"nodes"`
	GPUs          int     `json:"gpus"` // GPUs held while the prolog waits
	// ReadRate is how fast the job consumes its data (bytes/s) when it is
	// cached: it reads the part of its datasets it uses at this rate first,
	// then computes. 0 spreads the reads evenly over its duration. JSON only.
	ReadRate float64 `json:"read_rate,omitempty"`
	Datasets []Use   `json:"datasets"`
}

// Expected returns the expected start a policy may know at submit time.
func (j *Job) Expected() float64 {
	if j.ExpectedStart == 0 {
		return j.Start
	}
	return j.ExpectedStart
}

// csvHeader is the CSV trace header; a job with several datasets has one row per dataset.
var csvHeader = []string{"id", "submit", "start", "expected_start", "duration", "nodes", "gpus", "path", "bytes", "read"}

// ReadTrace reads a trace in JSON lines (one Job per line) or, when the first
// line is the CSV header, CSV. It validates every job and sorts by submit time.
func ReadTrace(r io.Reader) ([]Job, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, _ := br.Peek(64)
	var jobs []Job
	var err error
	if strings.HasPrefix(string(head), strings.Join(csvHeader[:3], ",")) {
		jobs, err = readCSV(br)
	} else {
		jobs, err = readJSONL(br)
	}
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for i := range jobs {
		j := &jobs[i]
		if j.Start < j.Submit || j.Duration < 0 || j.GPUs < 0 || len(j.Datasets) == 0 {
			return nil, fmt.Errorf("job %d: need start >= submit, duration >= 0, gpus >= 0 and at least one dataset", j.ID)
		}
		for _, u := range j.Datasets {
			if u.Bytes <= 0 || u.Read <= 0 || u.Read > 1 || u.Path == "" {
				return nil, fmt.Errorf("job %d dataset %q: need bytes > 0 and 0 < read <= 1", j.ID, u.Path)
			}
			if s, ok := sizes[u.Path]; ok && s != u.Bytes {
				return nil, fmt.Errorf("job %d: dataset %q has %d bytes here and %d in an earlier job; a path has one size", j.ID, u.Path, u.Bytes, s)
			}
			sizes[u.Path] = u.Bytes
		}
	}
	slices.SortStableFunc(jobs, func(a, b Job) int { return cmp.Compare(a.Submit, b.Submit) })
	return jobs, nil
}

func readJSONL(r io.Reader) ([]Job, error) {
	var jobs []Job
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	for n := 1; ; n++ {
		var j Job
		if err := dec.Decode(&j); err == io.EOF {
			return jobs, nil
		} else if err != nil {
			return nil, fmt.Errorf("trace job #%d: %v (JSON lines: one job object per line, see docs/design/simulator.md)", n, err)
		}
		jobs = append(jobs, j)
	}
}

func readCSV(r io.Reader) ([]Job, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("CSV trace: %v (columns: %s)", err, strings.Join(csvHeader, ","))
	}
	var jobs []Job
	idx := map[int64]int{}
	for n, row := range rows[1:] {
		var v [10]float64
		for k, f := range row {
			if k == 7 {
				continue
			}
			if v[k], err = strconv.ParseFloat(f, 64); err != nil {
				return nil, fmt.Errorf("CSV trace line %d column %s: %q is not a number", n+2, csvHeader[k], f)
			}
		}
		id := int64(v[0])
		u := Use{Path: row[7], Bytes: int64(v[8]), Read: v[9]}
		if k, ok := idx[id]; ok {
			jobs[k].Datasets = append(jobs[k].Datasets, u)
			continue
		}
		idx[id] = len(jobs)
		jobs = append(jobs, Job{ID: id, Submit: v[1], Start: v[2], ExpectedStart: v[3], Duration: v[4], Nodes: int(v[5]), GPUs: int(v[6]), Datasets: []Use{u}})
	}
	return jobs, nil
}

// WriteJSONL writes jobs as JSON lines.
func WriteJSONL(w io.Writer, jobs []Job) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range jobs {
		if err := enc.Encode(&jobs[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteCSV writes jobs as CSV, one row per job and dataset.
func WriteCSV(w io.Writer, jobs []Job) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, j := range jobs {
		for _, u := range j.Datasets {
			_ = cw.Write([]string{strconv.FormatInt(j.ID, 10), f(j.Submit), f(j.Start), f(j.ExpectedStart), f(j.Duration),
				strconv.Itoa(j.Nodes), strconv.Itoa(j.GPUs), u.Path, strconv.FormatInt(u.Bytes, 10), f(u.Read)})
		}
	}
	cw.Flush()
	return cw.Error()
}

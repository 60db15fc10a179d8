package sim

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTraceRoundTripJSONLAndCSV(t *testing.T) {
	c := DefaultGen()
	c.Jobs = 300
	jobs, err := Generate(c)
	require.NoError(t, err)
	var jb, cb bytes.Buffer
	require.NoError(t, WriteJSONL(&jb, jobs))
	require.NoError(t, WriteCSV(&cb, jobs))
	fromJ, err := ReadTrace(&jb)
	require.NoError(t, err)
	fromC, err := ReadTrace(&cb)
	require.NoError(t, err)
	require.Equal(t, jobs, fromJ)
	require.Equal(t, jobs, fromC)
}

func TestTraceErrorsSayWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		`{"id":1,"submit":5,"start":1,"duration":1,"gpus":1,"datasets":[{"path":"/a","bytes":1,"read":1}]}`:   "need start >= submit",
		`{"id":1,"submit":0,"start":1,"duration":1,"gpus":1,"datasets":[{"path":"/a","bytes":1,"read":1.5}]}`: "0 < read <= 1",
		`{"id":1,"submit":0,"start":1,"duration":1,"gpus":1,"datasets":[{"path":"/a","bytes":1,"read":1}]}` + "\n" +
			`{"id":2,"submit":0,"start":1,"duration":1,"gpus":1,"datasets":[{"path":"/a","bytes":2,"read":1}]}`: "a path has one size",
		`{"id":1,"sumbit":0}`: `unknown field "sumbit"`,
		"id,submit,start,expected_start,duration,nodes,gpus,path,bytes,read\n1,0,x,0,1,1,1,/a,1,1\n": `column start: "x" is not a number`,
	} {
		_, err := ReadTrace(strings.NewReader(in))
		require.ErrorContains(t, err, want, in)
	}
}

func TestGeneratorShape(t *testing.T) {
	c := DefaultGen()
	c.Jobs = 5000
	a, err := Generate(c)
	require.NoError(t, err)
	b, err := Generate(c)
	require.NoError(t, err)
	require.Equal(t, a, b, "same seed, same trace")

	uses := map[string]int{}
	var day, night int
	for _, j := range a {
		require.GreaterOrEqual(t, j.Start, j.Submit)
		for _, u := range j.Datasets {
			require.GreaterOrEqual(t, u.Bytes, c.MinBytes)
			require.LessOrEqual(t, u.Bytes, c.MaxBytes)
			uses[u.Path]++
		}
		switch h := math.Mod(j.Submit, 86400) / 3600; {
		case h >= 12 && h < 16:
			day++
		case h >= 0 && h < 4:
			night++
		}
	}
	require.Greater(t, day, 2*night, "diurnal: afternoons are busier than nights")
	max1 := 0
	for _, n := range uses {
		max1 = max(max1, n)
	}
	require.Greater(t, max1, len(a)/20, "Zipf: the top dataset is used by > 5 %% of jobs")
	_, err = Generate(GenConfig{Jobs: 1})
	require.ErrorContains(t, err, "datasets > 0")
}

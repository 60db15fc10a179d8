package bytesize

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "123": 123, "1K": 1024, "64k": 64 << 10, "1M": 1 << 20, "1MiB": 1 << 20, "1mb": 1 << 20,
		"500GiB": 500 << 30, "2TiB": 2 << 40, "1.5T": 3 << 39, "7 GB": 7 << 30, " 3P ": 3 << 50, "1E": 1 << 60,
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1G", "lots", "1X", "G", "8E", "NaN", "Inf"} {
		_, err := Parse(in)
		require.Error(t, err, in)
	}
	_, err := Parse("lots")
	require.ErrorContains(t, err, "500GiB", "the error shows what to write")
}

func TestFormatAndShort(t *testing.T) {
	for n, want := range map[int64][2]string{
		0:                 {"0 B", "0 B"},
		512:               {"512 B", "512 B"},
		1024:              {"1.0 KiB", "1.0 KiB"},
		1536:              {"1.5 KiB", "1.5 KiB"},
		4 << 20:           {"4.0 MiB", "4.0 MiB"},
		499 << 20:         {"499.0 MiB", "499 MiB"},
		(1 << 30) - 1:     {"1024.0 MiB", "1023 MiB"},
		3 << 39:           {"1.5 TiB", "1.5 TiB"},
		(2 << 30) - 1<<20: {"2.0 GiB", "1.9 GiB"},
	} {
		require.Equal(t, want[0], Format(n), "Format(%d)", n)
		require.Equal(t, want[1], Short(n), "Short(%d)", n)
	}
}

func TestValueRoundTrips(t *testing.T) {
	var v Value
	require.NoError(t, v.Set("1.5T"))
	require.Equal(t, Value(3<<39), v)
	require.Equal(t, "1.5 TiB", v.String())
	require.Equal(t, "bytes", v.Type())
	require.ErrorContains(t, v.Set("-1"), "500GiB")
}

func TestPositiveRefusesZero(t *testing.T) {
	p := Positive(1 << 20)
	require.Equal(t, "1.0 MiB", p.String())
	require.ErrorContains(t, p.Set("0"), "more than 0 bytes")
	require.ErrorContains(t, p.Set("0.1"), "more than 0 bytes", "a fraction of a byte is 0")
	require.Error(t, p.Set("lots"))
	require.NoError(t, p.Set("1.5T"))
	require.Equal(t, Positive(3<<39), p)
}

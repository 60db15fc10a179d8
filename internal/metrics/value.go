package metrics

// Value is the sum of the current values of the series name whose labels
// include want (a histogram's: its count of observations), 0 when there is
// none: for the tests of the components that report here, and debugging.
func (m *Metrics) Value(name string, want map[string]string) float64 {
	fams, _ := m.reg.Gather()
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for k, v := range want {
				ok := false
				for _, l := range s.GetLabel() {
					ok = ok || (l.GetName() == k && l.GetValue() == v)
				}
				if !ok {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				sum += s.GetCounter().GetValue()
			case s.Gauge != nil:
				sum += s.GetGauge().GetValue()
			case s.Histogram != nil:
				sum += float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

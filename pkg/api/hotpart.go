package api

import "strings"

// HotPart says which part of a dataset a warm-up warmed and verified first,
// making the jobs that wait for the dataset ready before it is all warm
// (JobDataset.HotReady). It is the prefix of the task's reason while the
// part warms ("release-at: first 25 % of bytes, 3 of 12 files"), and the
// prolog's reason when it lets such a job start.
type HotPart string

const (
	// HotNarrowed: the subdirectories jobs read, from the access history
	// (NarrowWarmups).
	HotNarrowed HotPart = "narrowed"
	// HotReleaseAt: the first ReleaseAt share of the dataset's bytes, its
	// files taken in directory order (ReleaseAt).
	HotReleaseAt HotPart = "release-at"
)

// HotParts is the one list of the parts a warm-up can warm first.
var HotParts = []HotPart{HotNarrowed, HotReleaseAt}

// Note is the task reason shown while part h warms, e.g.
// HotReleaseAt.Note("first 25 % of bytes") = "release-at: first 25 % of bytes".
func (h HotPart) Note(detail string) string { return string(h) + ": " + detail }

// HotPartOf reads which part a task's reason (written with Note) names; ""
// when none.
func HotPartOf(reason string) HotPart {
	for _, h := range HotParts {
		if strings.HasPrefix(reason, string(h)+": ") {
			return h
		}
	}
	return ""
}

package doctor

import (
	"fmt"
	"io"

	"github.com/m365send/m365send/internal/failtext"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
)

// Write writes the report as `m365send doctor` prints it, a step a line
// with its fix below, then the summary. A step that failed on an error is
// told as every command tells that error (failtext.Message), and its fix
// ends with hint(err), the command's hint for it. It returns the kind of
// the first failure, and whether a step failed.
func Write(w io.Writer, r *Report, hint func(error) string) (first failure.Kind, failed bool) {
	for _, res := range r.Results {
		detail, fix := res.Detail, res.Fix
		if res.Err != nil {
			if detail == "" {
				detail = failtext.Message(res.Err)
			}
			fix = failtext.JoinHints(fix, hint(res.Err))
		}
		fmt.Fprintf(w, "%-5s %-10s %s\n", res.Status, res.Step, safetext.OneLine(detail))
		if fix != "" && res.Status != OK {
			fmt.Fprintf(w, "      %-10s fix: %s\n", "", safetext.OneLine(fix))
		}
		if res.Status == Fail && !failed {
			first, failed = res.Kind, true
		}
	}
	if r.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", r.Summary)
	}
	return first, failed
}

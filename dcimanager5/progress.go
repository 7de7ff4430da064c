package dcimanager5

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// InstallProgress is the install progress hint of one server.
type InstallProgress struct {
	// Percent is the progress parsed from Text, 0–100, or -1 when the
	// hint carries no percentage (or there is no hint: no install runs).
	Percent int
	// Text is the hint as the panel wrote it (markup removed, trimmed);
	// empty when there is none.
	Text string
}

// InstallProgress reads the progress hint of a running OS install: the
// hint the panel shows over the install_in_progress flag, which the
// vendor's Node client reads with func=server&elid=<id>&clickstat=title
// &hint_field=install_in_progress from doc.value.$ (seen in public clients).
//
// The hint's wording is not public (assumed). Percent is taken from the last
// number directly followed by "%" in the text ("Installing 45%",
// "Installing Debian-12: 45 %"); a text that is just a number ("45") is
// read as a percentage (inferred); anything else gives -1 with the text kept.
// Values above 100 are capped at 100. Check the format against a real
// panel (the hint over the install icon in the server list).
//
// Without a running install the hint is empty and Percent is -1. The
// server flags (Server.InstallInProgress, OperationFailed) remain the
// authority on whether an install runs or failed; this is a best-effort
// extra.
//
// Calls func=server with elid, clickstat=title and hint_field.
func (s *ServersService) InstallProgress(ctx context.Context, id int64) (InstallProgress, error) {
	if err := checkID("Servers.InstallProgress", "id", id); err != nil {
		return InstallProgress{Percent: -1}, err
	}
	d, err := s.c.call(ctx, mgr5.Request{
		Func:   "server",
		Elid:   []string{strconv.FormatInt(id, 10)},
		Params: url.Values{"clickstat": {"title"}, "hint_field": {"install_in_progress"}},
		Class:  httpx.SafeRead,
	})
	if err != nil {
		return InstallProgress{Percent: -1}, err
	}
	text := hintText(d.Text("value"))
	return InstallProgress{Percent: parsePercent(text), Text: text}, nil
}

// hintText removes markup (<b>, <br/>, …) and collapses white space.
func hintText(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// parsePercent returns the last "<n>%" (spaces allowed before %) of s, or
// s itself when it is a bare number, capped at 100; -1 when there is
// none.
func parsePercent(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return -1
	}
	if n, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64); err == nil {
		return clampPercent(int(n))
	}
	found := -1
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		j := i
		for j > 0 && s[j-1] == ' ' {
			j--
		}
		end := j
		for j > 0 && (s[j-1] >= '0' && s[j-1] <= '9' || s[j-1] == '.' || s[j-1] == ',') {
			j--
		}
		num := strings.ReplaceAll(s[j:end], ",", ".")
		if n, err := strconv.ParseFloat(num, 64); err == nil {
			found = clampPercent(int(n))
		}
	}
	return found
}

func clampPercent(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 100:
		return 100
	}
	return n
}

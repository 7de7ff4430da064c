package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// simSeed is the seed file: one data set per panel (a panel left out gets
// its fake's default data set; give {} for an empty panel) and the
// operation durations.
type simSeed struct {
	DCI5      *dcimanager5test.SeedData `json:"dci5,omitempty"`
	DCI6      *dcimanager6test.SeedData `json:"dci6,omitempty"`
	IPmgr     *ipmanagertest.SeedData   `json:"ipmgr,omitempty"`
	ISPmgr    *ispmanagertest.SeedData  `json:"ispmgr,omitempty"`
	Durations *durationsDoc             `json:"durations,omitempty"`
}

// durationsDoc holds operation durations as Go duration strings ("1.5s").
type durationsDoc struct {
	DCI5 *struct {
		Power   jsonDuration `json:"power,omitempty"`
		Install jsonDuration `json:"install,omitempty"`
		Switch  jsonDuration `json:"switch,omitempty"`
	} `json:"dci5,omitempty"`
	DCI6 *struct {
		Power   jsonDuration `json:"power,omitempty"`
		Install jsonDuration `json:"install,omitempty"`
	} `json:"dci6,omitempty"`
}

// jsonDuration is a time.Duration written as "2s" in JSON.
type jsonDuration time.Duration

func (d jsonDuration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *jsonDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration %s: must be positive", v)
	}
	*d = jsonDuration(v)
	return nil
}

// parseSeed reads a seed document: JSON whose keys starting with "_" are
// comments, anywhere; any other unknown key is an error, so a typo does
// not pass unnoticed.
func parseSeed(raw []byte) (*simSeed, error) {
	clean, err := stripComments(raw)
	if err != nil {
		return nil, err
	}
	var s simSeed
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// stripComments removes every object key that starts with "_".
func stripComments(raw []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON document")
	}
	return json.Marshal(strip(v))
}

func strip(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if strings.HasPrefix(k, "_") {
				delete(t, k)
				continue
			}
			t[k] = strip(x)
		}
	case []any:
		for i, x := range t {
			t[i] = strip(x)
		}
	}
	return v
}

// load loads the seed's data sets into the named panels (default data
// sets for panels the seed leaves out).
func (s *simulator) load(seed *simSeed, panels []string) error {
	for _, p := range panels {
		var err error
		switch p {
		case panelDCI5:
			d := dcimanager5test.DefaultSeed()
			if seed.DCI5 != nil {
				d = *seed.DCI5
			}
			err = s.dci5.Load(d)
		case panelDCI6:
			d := dcimanager6test.DefaultSeed()
			if seed.DCI6 != nil {
				d = *seed.DCI6
			}
			err = s.dci6.Load(d)
		case panelIPmgr:
			d := ipmanagertest.DefaultSeed()
			if seed.IPmgr != nil {
				d = *seed.IPmgr
			}
			err = s.ipmgr.Load(d)
		case panelISPmgr:
			d := ispmanagertest.DefaultSeed()
			if seed.ISPmgr != nil {
				d = *seed.ISPmgr
			}
			err = s.ispmgr.Load(d)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
	}
	return nil
}

// loadOnTop loads only the data sets a seed document gives, on top of
// the state (the control API's POST /seed).
func (s *simulator) loadOnTop(seed *simSeed) error {
	var panels []string
	if seed.DCI5 != nil {
		panels = append(panels, panelDCI5)
	}
	if seed.DCI6 != nil {
		panels = append(panels, panelDCI6)
	}
	if seed.IPmgr != nil {
		panels = append(panels, panelIPmgr)
	}
	if seed.ISPmgr != nil {
		panels = append(panels, panelISPmgr)
	}
	if err := s.load(seed, panels); err != nil {
		return err
	}
	return s.setDurations(seed.Durations)
}

func (s *simulator) setDurations(d *durationsDoc) error {
	if d == nil {
		return nil
	}
	if d.DCI5 != nil {
		s.dci5.SetDurations(dcimanager5test.Durations{Power: time.Duration(d.DCI5.Power),
			Install: time.Duration(d.DCI5.Install), Switch: time.Duration(d.DCI5.Switch)})
	}
	if d.DCI6 != nil {
		s.dci6.SetDurations(dcimanager6test.Durations{Power: time.Duration(d.DCI6.Power), Install: time.Duration(d.DCI6.Install)})
	}
	return nil
}

// durations reports the current durations in the same shape.
func (s *simulator) durations() map[string]map[string]string {
	d5, d6 := s.dci5.Durations(), s.dci6.Durations()
	return map[string]map[string]string{
		panelDCI5: {"power": d5.Power.String(), "install": d5.Install.String(), "switch": d5.Switch.String()},
		panelDCI6: {"power": d6.Power.String(), "install": d6.Install.String()},
	}
}

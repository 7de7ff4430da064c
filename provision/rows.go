package provision

import (
	"slices"
	"sync"
)

// The run's server rows. A step often needs what the previous step of the
// same run has just read (the server picked from the list is the one the
// claim checks; the row that showed the server powered on is the one the
// install starts from), and on a panel without a call that reads one
// server (DCImanager 5) every such read is the whole server list. The
// run therefore keeps, per server, the row of its latest read, and a step
// that only needs the server's state as this run last saw it takes that
// row instead of reading again. The rule:
//
//   - a row lives in the run's memory only: a new run (after a crash, a
//     restart, a lost lease) starts with none, so the first look of every
//     run is a fresh read, and the checks that resolve a call in doubt
//     always read the panel;
//   - every write this run makes to a server forgets the server's row
//     before the call goes out; when the panel accepted the write and its
//     effect on the row is known (owner, domain, blocking) the row comes
//     back with that effect applied; an address added or removed leaves
//     the row without its main address (the panel may choose another:
//     the next ListIPs reads the row again); otherwise (power, install)
//     the next look reads the panel;
//   - the same holds for the server's address list (ListIPs): the
//     addresses the run added or removed, and the domain it set, are
//     applied to it; where the panel chooses the main address (the main
//     one removed, one added to a server without a main one) the list
//     keeps none, and the next ListIPs takes the main address from the
//     server's row, read after the change (the vendor's modules likewise
//     store the server row's ip as the service's address);
//   - a step that fails forgets every row: its retry, and the steps after
//     it, read the panel again;
//   - waits read the panel at every poll (they are looking for a change
//     made by the panel, not by the run), and refresh the row;
//   - a write whose safety depends on the server's current state never
//     trusts a kept row alone: an owner change goes through the backend's
//     OwnerSwapper (a fresh read of the owner by the same call) when it
//     has one, and the engine reads the server fresh before it otherwise.
//
// What can be missed is a change made outside the engine between the
// run's read and its next step, milliseconds apart; the steps' own
// re-reads had the same window between their read and their write.
type rowMemo struct {
	mu sync.Mutex
	// rows are the servers read one by one (or with a write's effect
	// applied); listed is the latest ListServers answer, for the servers
	// not in rows and not in stale, until the step that read it ends
	// (settle).
	rows   map[string]Server
	listed []Server
	stale  map[string]bool
	// ips are the servers' address lists as ListIPs read them (with the
	// run's own address changes applied).
	ips map[string][]ServerIP
}

// getIPs returns a copy of the address list kept for server id.
func (m *rowMemo) getIPs(id string) ([]ServerIP, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.ips[id]
	return slices.Clone(l), ok
}

// keepIPs records the address list of server id.
func (m *rowMemo) keepIPs(id string, l []ServerIP) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ips == nil {
		m.ips = map[string][]ServerIP{}
	}
	m.ips[id] = slices.Clone(l)
}

// get returns the row kept for server id.
func (m *rowMemo) get(id string) (Server, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.rows[id]; ok {
		return s, true
	}
	if m.stale[id] {
		return Server{}, false
	}
	for _, s := range m.listed {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

// keep records s, just read from the panel.
func (m *rowMemo) keep(s Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]Server{}
	}
	m.rows[s.ID] = s
}

// keepList records a ListServers answer: it replaces every row.
func (m *rowMemo) keepList(list []Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows, m.stale, m.listed = nil, nil, list
}

// forget drops the row and the address list of server id and returns
// them (ok: there was a row; ipsOK: a list).
func (m *rowMemo) forget(id string) (s Server, ok bool, ips []ServerIP, ipsOK bool) {
	s, ok = m.get(id)
	ips, ipsOK = m.getIPs(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, id)
	delete(m.ips, id)
	if m.stale == nil {
		m.stale = map[string]bool{}
	}
	m.stale[id] = true
	return s, ok, ips, ipsOK
}

// settle keeps, of the latest ListServers answer, only the row of server
// id (the operation's: "" for none) and drops the list, so that a run
// holds no whole data center between its steps.
func (m *rowMemo) settle(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listed == nil {
		return
	}
	list := m.listed
	m.listed = nil
	if _, ok := m.rows[id]; ok || id == "" || m.stale[id] {
		return
	}
	for _, s := range list {
		if s.ID == id {
			if m.rows == nil {
				m.rows = map[string]Server{}
			}
			m.rows[id] = s
			return
		}
	}
}

// reset drops every row and address list.
func (m *rowMemo) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows, m.stale, m.listed, m.ips = nil, nil, nil, nil
}

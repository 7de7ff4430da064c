package dcimanager5

import (
	"context"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// ConnectionsService manages a server's connections to switches, IPMI and
// PDUs. Get it from Client.Connections.
type ConnectionsService service

// Connection types as the panel names them.
const (
	ConnectionSwitch = "Switch"
	ConnectionIPMI   = "IPMI"
	ConnectionPDU    = "PDU"
)

// Connection is one row of a server's connection list.
type Connection struct {
	// ID is the connection id (elid of server.connection.*).
	ID int64
	// Type is "Switch", "IPMI", "PDU", …
	Type string
	// Name is the device or port label, when shown.
	Name string
	// Status is the state column ("on"/"off"), when shown.
	Status string
	// InProgress is the func_in_progress flag: a command on this
	// connection is still running.
	InProgress bool
}

type wireConnection struct {
	ID         text `json:"id"`
	Type       text `json:"type"`
	Name       text `json:"name"`
	Status     text `json:"status"`
	InProgress flag `json:"func_in_progress"`
}

// List returns the connections of server serverID.
//
// Calls func=server.connection.
func (s *ConnectionsService) List(ctx context.Context, serverID int64) ([]Connection, error) {
	if err := checkID("Connections.List", "serverID", serverID); err != nil {
		return nil, err
	}
	d, err := s.c.call(ctx, mgr5.Request{Func: "server.connection", Elid: []string{idStr(serverID)}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	ws, err := elems[wireConnection](d, "server.connection")
	if err != nil {
		return nil, err
	}
	out := make([]Connection, 0, len(ws))
	for _, w := range ws {
		c := Connection{Type: w.Type.T, Name: w.Name.T, Status: w.Status.T, InProgress: bool(w.InProgress)}
		if w.Type.Orig != "" {
			c.Type = w.Type.Orig
		}
		c.ID, _ = parseID(w.ID.T)
		out = append(out, c)
	}
	return out, nil
}

// ConnectionDetail is the edit form of a connection.
type ConnectionDetail struct {
	ID int64
	// Port is the switch port (Switch connections).
	Port string
	// IP is the IPMI address (IPMI connections).
	IP string
	// Fields holds every form field as text.
	Fields map[string]string
}

// Get reads the edit form of connection connID of server serverID: the
// switch port or the IPMI address.
//
// Calls func=server.connection.edit.
func (s *ConnectionsService) Get(ctx context.Context, serverID, connID int64) (*ConnectionDetail, error) {
	if err := checkID("Connections.Get", "serverID", serverID); err != nil {
		return nil, err
	}
	if err := checkID("Connections.Get", "connID", connID); err != nil {
		return nil, err
	}
	d, err := s.c.call(ctx, mgr5.Request{Func: "server.connection.edit", Plid: idStr(serverID), Elid: []string{idStr(connID)}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := &ConnectionDetail{ID: connID, Fields: map[string]string{}}
	for k, v := range d.Form() {
		out.Fields[k] = v.Text
	}
	out.Port, out.IP = out.Fields["port"], out.Fields["ip"]
	return out, nil
}

// Summary is what a billing system stores about a server's wiring.
type Summary struct {
	// SwitchPort is the port of the first Switch connection.
	SwitchPort string
	// IPMIAddress is the address of the first IPMI connection.
	IPMIAddress string
}

// Summary reads the switch port and the IPMI address of server serverID
// (empty when the server has no such connection).
//
// Calls func=server.connection and func=server.connection.edit.
func (s *ConnectionsService) Summary(ctx context.Context, serverID int64) (*Summary, error) {
	conns, err := s.List(ctx, serverID)
	if err != nil {
		return nil, err
	}
	return s.SummaryOf(ctx, serverID, conns)
}

// SummaryOf is Summary from conns, the server's connection list as the
// caller last read it (List): only the edit forms of its first Switch and
// first IPMI connection are read. A connection gone since the list was
// read is an error matching ErrNotFound (read the list again).
//
// Calls func=server.connection.edit.
func (s *ConnectionsService) SummaryOf(ctx context.Context, serverID int64, conns []Connection) (*Summary, error) {
	if err := checkID("Connections.SummaryOf", "serverID", serverID); err != nil {
		return nil, err
	}
	out := &Summary{}
	for _, c := range conns {
		switch {
		case strings.EqualFold(c.Type, ConnectionSwitch) && out.SwitchPort == "":
			d, err := s.Get(ctx, serverID, c.ID)
			if err != nil {
				return nil, err
			}
			out.SwitchPort = d.Port
		case strings.EqualFold(c.Type, ConnectionIPMI) && out.IPMIAddress == "":
			d, err := s.Get(ctx, serverID, c.ID)
			if err != nil {
				return nil, err
			}
			out.IPMIAddress = d.IP
		}
	}
	return out, nil
}

// On switches connection connID of server serverID on (enables the switch
// port). Asynchronous: use WaitConnectionsIdle.
//
// Calls func=server.connection.on.
func (s *ConnectionsService) On(ctx context.Context, serverID, connID int64) error {
	return s.toggle(ctx, "Connections.On", "server.connection.on", serverID, connID)
}

// Off switches connection connID of server serverID off (disables the
// switch port). Asynchronous: use WaitConnectionsIdle.
//
// Calls func=server.connection.off.
func (s *ConnectionsService) Off(ctx context.Context, serverID, connID int64) error {
	return s.toggle(ctx, "Connections.Off", "server.connection.off", serverID, connID)
}

func (s *ConnectionsService) toggle(ctx context.Context, op, fn string, serverID, connID int64) error {
	if err := checkID(op, "serverID", serverID); err != nil {
		return err
	}
	if err := checkID(op, "connID", connID); err != nil {
		return err
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: fn, Plid: idStr(serverID), Elid: []string{idStr(connID)}, Class: httpx.IdempotentWrite})
	return err
}

// SetNetwork switches every Switch connection of server serverID on or off
// (the WHMCS module's "network on/off").
//
// Calls func=server.connection, then func=server.connection.on or .off.
func (s *ConnectionsService) SetNetwork(ctx context.Context, serverID int64, on bool) error {
	conns, err := s.List(ctx, serverID)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if !strings.EqualFold(c.Type, ConnectionSwitch) {
			continue
		}
		if on {
			err = s.On(ctx, serverID, c.ID)
		} else {
			err = s.Off(ctx, serverID, c.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

package billing

// Reasons for manual tasks, used in ManualTask.Reason.
const (
	// ReasonColocation: colocation services are set up and deleted by
	// staff; the module only files a task.
	ReasonColocation = "colocation services are set up manually"
	// ReasonConfigUnavailable: the ordered configuration is not available
	// as a free server and must be assembled or purchased.
	ReasonConfigUnavailable = "no free server with the ordered configuration; the server must be assembled"
)

// ManualTask is work a processing module hands to a BILLmanager department
// instead of failing: the service stays in processing until staff finish it.
type ManualTask struct {
	// Department receives the task (the module's Department).
	Department string
	// ServiceID is the service the task is about.
	ServiceID int64
	// Reason explains why the task was created (one of the Reason…
	// constants, or free text).
	Reason string
}

// NewManualTask returns the task for service serviceID assigned to m's
// department. A nil m gives a task without a department.
func NewManualTask(m *Module, serviceID int64, reason string) ManualTask {
	t := ManualTask{ServiceID: serviceID, Reason: reason}
	if m != nil {
		t.Department = m.Department
	}
	return t
}

// NeedsManualTask reports whether setting up (or deleting) a service of
// tariff t through module m is always a manual task rather than an
// automated operation, and why. That is the case for colocation: "when the
// integration module receives the command to set up or delete a service, the
// service will be set up manually and a corresponding ticket will be
// submitted to the department in charge".
//
// Whether a dedicated-server configuration is available is only known when
// the free servers are listed; use [OnConfigUnavailable] then. A nil t or m
// needs no task.
func NeedsManualTask(t *Tariff, m *Module) (needed bool, reason string) {
	if t == nil || m == nil {
		return false, ""
	}
	if t.ProductType == ProductColocation {
		return true, ReasonColocation
	}
	return false, ""
}

// OnConfigUnavailable reports whether an order of tariff t through module m,
// for which no free server with the ordered configuration exists, becomes a
// manual task for the module's department. That is the case for DCImanager
// modules with NewServerType set ("if the client orders a customizable
// server configuration, but the provider doesn't have such a server, the
// selected department will be assigned a task"). Otherwise (old server type:
// only ready configurations can be ordered) it returns false and the caller
// should try the next module from [Catalog.SelectModules] or fail the order.
func OnConfigUnavailable(t *Tariff, m *Module) (needed bool, reason string) {
	if t == nil || m == nil {
		return false, ""
	}
	if t.ProductType == ProductDedicatedServer && m.Kind.IsDCImanager() && m.NewServerType {
		return true, ReasonConfigUnavailable
	}
	return false, ""
}

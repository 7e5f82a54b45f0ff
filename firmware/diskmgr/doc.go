// Package diskmgr is the firmware's disk manager: it wires the board's bays
// and LEDs (hal), the SATA disks (drivers/sata) and the parity array
// (drivers/raid) together and turns disk events into RAID actions and LED
// states.
//
// One goroutine, Manager.Run, owns all of the manager's state. Every
// Options.Interval (2 s) it reads the array's Status and Latency, maps each
// member to its bay and shows one IBPI pattern per bay:
//
//	member state / condition                      bay pattern
//	faulty, missing, or its disk pulled           fail
//	rebuilding                                    rebuild
//	slow (raid latency) or SMART warning/failing  pfa (predicted failure)
//	spare                                         hotspare
//	in sync, array failed                         failed_array
//	in sync, array degraded                       degraded
//	in sync, array clean or rebuilding            normal
//	no member in the bay                          normal
//
// Locate (SetLocate, from the web page) overrides a bay's pattern while it
// is set. The front status LED shows attention when the array is degraded
// or failed, a bay shows fail or pfa, or Options.Attention says so (the
// appliance: the mail store found damage), busy while a rebuild or scrub
// runs, ok otherwise.
//
// A member is found in its bay by its device name (raid's MemberStatus.Device):
// first through the disks hotplug reported (device node -> sata.Disk.Bay ->
// hal.Board.BayByPort), then through Options.BayOf (development mode: member
// file diskN.img is bay N+1).
//
// Hotplug (Manager.Hotplug, fed by a sata.Watcher on the box): a removed
// disk that was a member is failed in the array (raid Array.Fail) and its bay
// shows fail until another disk arrives there; an added disk that is blank
// (raid.Probe) becomes a spare (raid Array.Add) and the rebuild onto it
// starts (StartRebuild); a disk of another array, or a stale member of this
// one, is left alone, closed and logged: the firmware never writes over it
// without being asked.
//
// SMART is polled every Options.SMARTInterval (10 min) through each
// member's ATA (sata.Assess); a warning or failing verdict flags the bay pfa.
//
// Every change (member state, slow flag, health, array state, hotplug,
// spare added, rebuild started or finished, locate) goes into a bounded
// event log, read back with Events.
package diskmgr

package sata

import (
	"encoding/binary"
	"fmt"
	"time"
)

// SMART feature codes of the SMART command (0xB0); LBA MID/HIGH carry the
// key 0x4F/0xC2.
const (
	cmdSMART          = 0xb0
	smartReadData     = 0xd0
	smartReadThresh   = 0xd1
	smartExecOffline  = 0xd4
	smartReadLog      = 0xd5
	smartWriteLog     = 0xd6
	smartEnable       = 0xd8
	smartReturnStatus = 0xda
	smartKeyMid       = 0x4f
	smartKeyHigh      = 0xc2
)

// Health is the disk's own verdict (SMART RETURN STATUS) refined by the
// attributes that predict failure.
type Health string

const (
	HealthUnknown Health = "unknown" // no SMART, or not asked
	HealthPassed  Health = "passed"
	// HealthWarning: the disk passes, but has reallocated, pending or
	// uncorrectable sectors, or an attribute failed in the past.
	HealthWarning Health = "warning"
	// HealthFailing: the disk says a threshold is exceeded, or a
	// pre-failure attribute is at or below its threshold now.
	HealthFailing Health = "failing"
)

// Attribute is one SMART attribute with its threshold.
type Attribute struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Flags     uint16 `json:"flags"`
	Value     int    `json:"value"`
	Worst     int    `json:"worst"`
	Threshold int    `json:"threshold"`
	Raw       uint64 `json:"raw"` // 48-bit raw value, little-endian
	// State is "ok", "failing" (value at or below threshold) or "failed
	// in the past" (worst at or below threshold).
	State string `json:"state"`
}

// Prefailure reports flags bit 0: a value at threshold predicts failure
// (otherwise the attribute only reports age or usage).
func (a *Attribute) Prefailure() bool { return a.Flags&1 != 0 }

// SMARTData is the decoded SMART READ DATA page with READ THRESHOLDS
// merged in.
type SMARTData struct {
	Revision   int         `json:"revision"`
	Attributes []Attribute `json:"attributes"`
	// OfflineStatus is byte 362, SelfTestStatus byte 363 (high nibble the
	// status of the last or running self-test, low nibble tens of percent
	// remaining).
	OfflineStatus  byte `json:"offline_status"`
	SelfTestStatus byte `json:"self_test_status"`
	// Capabilities, bytes 367-370.
	SelfTestSupported   bool `json:"self_test_supported"`
	ConveyanceSupported bool `json:"conveyance_supported"`
	SelectiveSupported  bool `json:"selective_supported"`
	ErrorLogSupported   bool `json:"error_log_supported"`
	// Recommended polling times, bytes 372-376.
	ShortTestTime    time.Duration `json:"short_test_time_ns"`
	ExtendedTestTime time.Duration `json:"extended_test_time_ns"`
	// ChecksumOK: byte 511 makes the page sum to zero. Some disks get it
	// wrong; the data is decoded anyway.
	ChecksumOK bool `json:"checksum_ok"`
}

// attributeNames are the names smartmontools and vendors agree on for the
// attributes postvault looks at.
var attributeNames = map[int]string{
	1: "Raw_Read_Error_Rate", 3: "Spin_Up_Time", 4: "Start_Stop_Count",
	5: "Reallocated_Sector_Ct", 7: "Seek_Error_Rate", 9: "Power_On_Hours",
	10: "Spin_Retry_Count", 12: "Power_Cycle_Count", 177: "Wear_Leveling_Count",
	183: "Runtime_Bad_Block", 184: "End-to-End_Error", 187: "Reported_Uncorrect",
	188: "Command_Timeout", 190: "Airflow_Temperature_Cel", 192: "Power-Off_Retract_Count",
	193: "Load_Cycle_Count", 194: "Temperature_Celsius", 195: "Hardware_ECC_Recovered",
	196: "Reallocated_Event_Count", 197: "Current_Pending_Sector", 198: "Offline_Uncorrectable",
	199: "UDMA_CRC_Error_Count", 231: "SSD_Life_Left", 233: "Media_Wearout_Indicator",
	241: "Total_LBAs_Written", 242: "Total_LBAs_Read",
}

// AttributeName names a SMART attribute ID ("Unknown_Attribute" if postvault
// has no name for it).
func AttributeName(id int) string {
	if n, ok := attributeNames[id]; ok {
		return n
	}
	return "Unknown_Attribute"
}

func checksumOK(p []byte) bool {
	var s byte
	for _, b := range p {
		s += b
	}
	return s == 0
}

// DecodeSMART decodes a SMART READ DATA page and, if thresh is not nil, the
// READ THRESHOLDS page that goes with it. Layout of the data page:
//
//	0-1      revision (LE16)
//	2-361    30 attributes of 12 bytes: ID, flags (LE16), value, worst,
//	         raw (6 bytes LE), reserved; ID 0 is an empty slot
//	362      off-line data collection status
//	363      self-test execution status
//	364-365  off-line collection time, seconds
//	367      off-line capability: bit 4 self-test, 5 conveyance, 6 selective
//	368-369  SMART capability
//	370      error logging capability: bit 0
//	372      short self-test time, minutes
//	373      extended self-test time, minutes (0xFF: see 375-376)
//	375-376  extended self-test time, minutes (LE16)
//	511      checksum
//
// The thresholds page holds 30 entries of 12 bytes from byte 2: ID,
// threshold, reserved.
func DecodeSMART(data, thresh []byte) (*SMARTData, error) {
	if len(data) != 512 {
		return nil, fmt.Errorf("sata: SMART data is %d bytes, want 512", len(data))
	}
	if thresh != nil && len(thresh) != 512 {
		return nil, fmt.Errorf("sata: SMART thresholds are %d bytes, want 512", len(thresh))
	}
	s := &SMARTData{
		Revision:       int(binary.LittleEndian.Uint16(data)),
		OfflineStatus:  data[362],
		SelfTestStatus: data[363],
		ChecksumOK:     checksumOK(data),
	}
	thr := map[int]int{}
	if thresh != nil {
		for i := 0; i < 30; i++ {
			e := thresh[2+12*i:]
			if e[0] != 0 {
				thr[int(e[0])] = int(e[1])
			}
		}
	}
	for i := 0; i < 30; i++ {
		e := data[2+12*i : 2+12*i+12]
		if e[0] == 0 {
			continue
		}
		raw := make([]byte, 8)
		copy(raw, e[5:11])
		a := Attribute{
			ID: int(e[0]), Name: AttributeName(int(e[0])),
			Flags: binary.LittleEndian.Uint16(e[1:]), Value: int(e[3]), Worst: int(e[4]),
			Threshold: thr[int(e[0])], Raw: binary.LittleEndian.Uint64(raw), State: "ok",
		}
		// Threshold 0 means "never fails"; 0xFE/0xFF are invalid values.
		if a.Threshold != 0 && a.Value >= 1 && a.Value <= 0xfd {
			switch {
			case a.Value <= a.Threshold:
				a.State = "failing"
			case a.Worst <= a.Threshold:
				a.State = "failed in the past"
			}
		}
		s.Attributes = append(s.Attributes, a)
	}
	s.SelfTestSupported = data[367]&(1<<4) != 0
	s.ConveyanceSupported = data[367]&(1<<5) != 0
	s.SelectiveSupported = data[367]&(1<<6) != 0
	s.ErrorLogSupported = data[370]&1 != 0
	s.ShortTestTime = time.Duration(data[372]) * time.Minute
	ext := int(data[373])
	if ext == 0xff {
		ext = int(binary.LittleEndian.Uint16(data[375:]))
	}
	s.ExtendedTestTime = time.Duration(ext) * time.Minute
	return s, nil
}

// Attribute returns the attribute with the given ID.
func (s *SMARTData) Attribute(id int) (Attribute, bool) {
	for _, a := range s.Attributes {
		if a.ID == id {
			return a, true
		}
	}
	return Attribute{}, false
}

// Temperature is the drive temperature in degrees Celsius: the low byte of
// attribute 194's raw value, else of attribute 190's.
func (s *SMARTData) Temperature() (int, bool) {
	for _, id := range []int{194, 190} {
		if a, ok := s.Attribute(id); ok {
			if t := int(a.Raw & 0xff); t > 0 && t < 128 {
				return t, true
			}
		}
	}
	return 0, false
}

// PowerOnHours is attribute 9's raw value (its low 32 bits: some vendors
// keep minutes or milliseconds in the upper bytes).
func (s *SMARTData) PowerOnHours() (uint64, bool) {
	a, ok := s.Attribute(9)
	return a.Raw & 0xffffffff, ok
}

// rawCount is the count held in an attribute's raw value (low 32 bits).
func (s *SMARTData) rawCount(id int) uint64 {
	a, _ := s.Attribute(id)
	return a.Raw & 0xffffffff
}

// Reallocated, Pending, Uncorrectable and CRCErrors are the raw counts of
// attributes 5, 197, 198 and 199 (0 if absent).
func (s *SMARTData) Reallocated() uint64   { return s.rawCount(5) }
func (s *SMARTData) Pending() uint64       { return s.rawCount(197) }
func (s *SMARTData) Uncorrectable() uint64 { return s.rawCount(198) }
func (s *SMARTData) CRCErrors() uint64     { return s.rawCount(199) }

// Assess combines the disk's own verdict (from SMART RETURN STATUS:
// passed true, or false when a threshold is exceeded) with the
// attributes. s may be nil.
func Assess(passed bool, s *SMARTData) Health {
	if !passed {
		return HealthFailing
	}
	if s == nil {
		return HealthPassed
	}
	h := HealthPassed
	for _, a := range s.Attributes {
		if a.State == "failing" && a.Prefailure() {
			return HealthFailing
		}
		if a.State != "ok" {
			h = HealthWarning
		}
	}
	if s.Reallocated() > 0 || s.Pending() > 0 || s.Uncorrectable() > 0 {
		h = HealthWarning
	}
	return h
}

func (a *ATA) smart(name string, feature, lbaLow, count byte, proto ataProto, data []byte, check bool) (taskfile, error) {
	return a.exec(ataCmd{name: name, proto: proto, data: data, check: check, tf: taskfile{
		Command: cmdSMART, Features: feature, Count: count, LBALow: lbaLow,
		LBAMid: smartKeyMid, LBAHigh: smartKeyHigh}})
}

// SMARTStatus sends SMART RETURN STATUS: true if the disk says it is fine,
// false if it says a threshold is exceeded (LBA MID/HIGH 0xF4/0x2C).
func (a *ATA) SMARTStatus() (bool, error) {
	tf, err := a.smart("SMART RETURN STATUS", smartReturnStatus, 0, 0, protoNonData, nil, true)
	if err != nil {
		return false, err
	}
	switch {
	case tf.LBAMid == 0x4f && tf.LBAHigh == 0xc2:
		return true, nil
	case tf.LBAMid == 0xf4 && tf.LBAHigh == 0x2c:
		return false, nil
	}
	return false, a.err("SMART RETURN STATUS", KindOther,
		fmt.Errorf("unexpected LBA MID/HIGH %#02x/%#02x", tf.LBAMid, tf.LBAHigh))
}

// SMARTPages sends SMART READ DATA and SMART READ THRESHOLDS and returns
// both raw pages.
func (a *ATA) SMARTPages() (data, thresh []byte, err error) {
	data = make([]byte, 512)
	if _, err := a.smart("SMART READ DATA", smartReadData, 0, 1, protoPIOIn, data, false); err != nil {
		return nil, nil, err
	}
	thresh = make([]byte, 512)
	if _, err := a.smart("SMART READ THRESHOLDS", smartReadThresh, 0, 1, protoPIOIn, thresh, false); err != nil {
		return nil, nil, err
	}
	return data, thresh, nil
}

// SMART reads and decodes the attributes with their thresholds.
func (a *ATA) SMART() (*SMARTData, error) {
	d, t, err := a.SMARTPages()
	if err != nil {
		return nil, err
	}
	return DecodeSMART(d, t)
}

// EnableSMART sends SMART ENABLE OPERATIONS.
func (a *ATA) EnableSMART() error {
	_, err := a.smart("SMART ENABLE OPERATIONS", smartEnable, 0, 0, protoNonData, nil, false)
	return err
}

// readLog sends SMART READ LOG for one 512-byte sector of log addr.
func (a *ATA) readLog(name string, addr byte) ([]byte, error) {
	p := make([]byte, 512)
	if _, err := a.smart(name, smartReadLog, addr, 1, protoPIOIn, p, false); err != nil {
		return nil, err
	}
	return p, nil
}

package sli

import "testing"

func TestEnums(t *testing.T) {
	tests := []struct {
		v     interface{ String() string }
		want  string
		parse func(string) (string, error)
	}{
		{ToolSuccess, "success", func(s string) (string, error) { v, err := ParseToolStatus(s); return v.String(), err }},
		{ToolFallback, "fallback", func(s string) (string, error) { v, err := ParseToolStatus(s); return v.String(), err }},
		{ToolFailure, "failure", func(s string) (string, error) { v, err := ParseToolStatus(s); return v.String(), err }},
		{RepairLocal, "local", func(s string) (string, error) { v, err := ParseRepairKind(s); return v.String(), err }},
		{RepairModel, "model", func(s string) (string, error) { v, err := ParseRepairKind(s); return v.String(), err }},
		{BreachDownshift, "downshift", func(s string) (string, error) { v, err := ParseBreachDecision(s); return v.String(), err }},
		{BreachBlock, "block", func(s string) (string, error) { v, err := ParseBreachDecision(s); return v.String(), err }},
		{UnaccountedNoUsage, "no_usage", func(s string) (string, error) { v, err := ParseUnaccountedReason(s); return v.String(), err }},
		{UnaccountedUnknownModel, "unknown_model", func(s string) (string, error) { v, err := ParseUnaccountedReason(s); return v.String(), err }},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.v.String(); got != tt.want {
				t.Errorf("String() = %q", got)
			}
			if got, err := tt.parse(tt.want); err != nil || got != tt.want {
				t.Errorf("parse = %q, %v", got, err)
			}
			if _, err := tt.parse("_other"); err == nil {
				t.Error("parsed _other")
			}
		})
	}
	if ToolStatus(0).String() != "ToolStatus(0)" || RepairKind(9).String() != "RepairKind(9)" ||
		BreachDecision(0).String() != "BreachDecision(0)" || UnaccountedReason(0).String() != "UnaccountedReason(0)" {
		t.Error("invalid values must not print as valid ones")
	}
}

package questionnaire

import (
	"errors"
	"testing"
)

func TestStatusLifecycle(t *testing.T) {
	valid := loadExample(t)
	invalid := loadExample(t)
	invalid.Code = ""
	tests := []struct {
		name    string
		from    Status
		def     *Definition
		want    Status
		wantErr error
	}{
		{"publish a valid draft", StatusDraft, valid, StatusPublished, nil},
		{"publish an invalid draft", StatusDraft, invalid, StatusDraft, ErrInvalid},
		{"publish twice", StatusPublished, valid, StatusPublished, ErrPublished},
		{"unknown status", "archived", valid, "archived", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Publish(tt.def)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Publish = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	var ve *ValidationError
	if _, err := StatusDraft.Publish(invalid); !errors.As(err, &ve) || len(ve.Problems) == 0 {
		t.Errorf("publishing an invalid draft: got %v, want a ValidationError", err)
	}
	if err := StatusDraft.CheckEditable(); err != nil {
		t.Errorf("draft not editable: %v", err)
	}
	if err := StatusPublished.CheckEditable(); !errors.Is(err, ErrPublished) {
		t.Errorf("published editable: %v", err)
	}
	if !StatusDraft.Valid() || !StatusPublished.Valid() || Status("").Valid() {
		t.Error("Valid is wrong")
	}
}

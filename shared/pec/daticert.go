package pec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// MaxDaticertSize bounds the daticert.xml that ParseDaticert accepts.
const MaxDaticertSize = 1 << 20

// ErrDaticert is wrapped by the errors of ParseDaticert.
var ErrDaticert = errors.New("pec: unreadable daticert.xml")

type xmlDaticert struct {
	XMLName      xml.Name `xml:"postacert"`
	Tipo         string   `xml:"tipo,attr"`
	Errore       string   `xml:"errore,attr"`
	Intestazione struct {
		Mittente    string `xml:"mittente"`
		Destinatari []struct {
			Tipo  string `xml:"tipo,attr"`
			Value string `xml:",chardata"`
		} `xml:"destinatari"`
		Risposte string `xml:"risposte"`
		Oggetto  string `xml:"oggetto"`
	} `xml:"intestazione"`
	Dati struct {
		GestoreEmittente string `xml:"gestore-emittente"`
		Data             struct {
			Zona   string `xml:"zona,attr"`
			Giorno string `xml:"giorno"`
			Ora    string `xml:"ora"`
		} `xml:"data"`
		Identificativo string `xml:"identificativo"`
		Msgid          string `xml:"msgid"`
		Ricevuta       *struct {
			Tipo string `xml:"tipo,attr"`
		} `xml:"ricevuta"`
		Consegna     string   `xml:"consegna,omitempty"`
		Ricezione    []string `xml:"ricezione,omitempty"`
		ErroreEsteso string   `xml:"errore-esteso,omitempty"`
	} `xml:"dati"`
}

// ParseDaticert parses a daticert.xml. It fails only when the document is not a
// readable postacert XML; unknown values are kept as they are, and the returned
// warnings list what is missing or odd (in English, without personal data).
//
// It is lenient where providers are known to err: characters that XML 1.0
// does not allow (Cedacri writes &#18;, Register.it a raw 0x16 in the subject)
// are removed, and a document that is not UTF-8 and declares no encoding is
// read as windows-1252; each with a warning. The DTD's defaults apply: errore
// "nessuno", destinatari tipo "certificato", ricevuta tipo "completa".
func ParseDaticert(data []byte) (*Daticert, []string, error) {
	if len(data) > MaxDaticertSize {
		return nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrDaticert, MaxDaticertSize)
	}
	var warn []string
	x, err := scanDaticert(data)
	if errors.Is(err, errInvalidUTF8) && xmlDeclEncoding(data) == "" {
		if conv, cerr := charmap.Windows1252.NewDecoder().Bytes(data); cerr == nil {
			if x, err = scanDaticert(conv); err == nil || errors.Is(err, errIllegalChar) {
				warn = append(warn, "daticert.xml is not UTF-8 and declares no encoding: read as windows-1252")
				data = conv
			}
		}
	}
	if errors.Is(err, errIllegalChar) {
		clean, _ := stripIllegalXML(data)
		if x, err = scanDaticert(clean); err == nil {
			warn = append(warn, "daticert.xml held characters that XML does not allow: they were removed")
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDaticert, err)
	}
	t := strings.TrimSpace
	d := &Daticert{
		Tipo:             Kind(t(x.tipo)),
		Errore:           t(x.errore),
		Mittente:         t(x.mittente),
		Risposte:         t(x.risposte),
		Oggetto:          t(x.oggetto),
		GestoreEmittente: t(x.gestore),
		Identificativo:   t(x.identificativo),
		MsgID:            t(x.msgid),
		Consegna:         t(x.consegna),
		ErroreEsteso:     t(x.erroreEsteso),
	}
	if !x.hasErrore {
		d.Errore = ErrorNone
	} else if !validErrore(d.Errore) {
		warn = append(warn, "unknown errore value")
	}
	unknownRcpt := false
	for _, r := range x.destinatari {
		rt := RecipientCertificato
		if r.hasTipo {
			rt = RecipientType(t(r.tipo))
			unknownRcpt = unknownRcpt || (rt != RecipientCertificato && rt != RecipientEsterno)
		}
		d.Destinatari = append(d.Destinatari, Recipient{Address: t(r.value), Type: rt})
	}
	if unknownRcpt {
		warn = append(warn, "unknown destinatari tipo")
	}
	for _, r := range x.ricezione {
		d.Ricezione = append(d.Ricezione, t(r))
	}
	if x.ricevuta {
		d.Ricevuta = ReceiptCompleta
		if x.hasRicevutaTipo {
			d.Ricevuta = ReceiptType(t(x.ricevutaTipo))
		}
		if !d.Ricevuta.Valid() {
			warn = append(warn, "unknown ricevuta tipo")
		}
	}
	if !d.Tipo.daticertKind() {
		if _, ok := kindAliases[normalizeKindValue(string(d.Tipo))]; ok {
			warn = append(warn, "non-standard tipo")
		} else {
			warn = append(warn, "unknown or missing tipo")
		}
	}
	if d.Identificativo == "" {
		warn = append(warn, "missing identificativo")
	}
	if x.giorno != "" || x.ora != "" {
		tm, err := daticertTime(t(x.giorno), t(x.ora), t(x.zona))
		if err != nil {
			warn = append(warn, "unreadable data: "+err.Error())
		} else {
			d.Time = tm
		}
	} else {
		warn = append(warn, "missing data")
	}
	return d, warn, nil
}

func validErrore(e string) bool {
	switch e {
	case ErrorNone, ErrorNoDest, ErrorNoDominio, ErrorVirus, ErrorAltro:
		return true
	}
	return false
}

func daticertTime(giorno, ora, zona string) (time.Time, error) {
	loc := time.UTC
	if zona != "" {
		z, err := time.Parse("-0700", zona)
		if err != nil {
			return time.Time{}, errors.New("zona is not like +0100")
		}
		_, off := z.Zone()
		loc = time.FixedZone(zona, off)
	}
	tm, err := time.ParseInLocation("02/01/2006 15:04:05", giorno+" "+ora, loc)
	if err != nil {
		return time.Time{}, errors.New("giorno and ora are not like DD/MM/YYYY HH:MM:SS")
	}
	return tm, nil
}

// Marshal writes d as a daticert.xml document (UTF-8).
func (d *Daticert) Marshal() ([]byte, error) {
	var x xmlDaticert
	x.Tipo, x.Errore = string(d.Tipo), d.Errore
	if x.Errore == "" {
		x.Errore = ErrorNone
	}
	x.Intestazione.Mittente = d.Mittente
	for _, r := range d.Destinatari {
		x.Intestazione.Destinatari = append(x.Intestazione.Destinatari, struct {
			Tipo  string `xml:"tipo,attr"`
			Value string `xml:",chardata"`
		}{string(r.Type), r.Address})
	}
	x.Intestazione.Risposte = d.Risposte
	x.Intestazione.Oggetto = d.Oggetto
	x.Dati.GestoreEmittente = d.GestoreEmittente
	if !d.Time.IsZero() {
		x.Dati.Data.Zona = d.Time.Format("-0700")
		x.Dati.Data.Giorno = d.Time.Format("02/01/2006")
		x.Dati.Data.Ora = d.Time.Format("15:04:05")
	}
	x.Dati.Identificativo = d.Identificativo
	x.Dati.Msgid = d.MsgID
	if d.Ricevuta != "" {
		x.Dati.Ricevuta = &struct {
			Tipo string `xml:"tipo,attr"`
		}{string(d.Ricevuta)}
	}
	x.Dati.Consegna = d.Consegna
	x.Dati.Ricezione = d.Ricezione
	x.Dati.ErroreEsteso = d.ErroreEsteso
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(&x); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

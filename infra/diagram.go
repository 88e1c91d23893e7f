package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Diagram draws the architecture from a synthesized CloudFormation template (as JSON-decoded maps): the
// triggers of each function, what each function may touch (its IAM statements), dead-letter queues,
// alarms and what the customer-managed key encrypts. It reads only the template, so the drawing is the
// stack's, not a hand-kept picture. README.md embeds its output (ARCHITECTURE.txt, checked by a test).
func Diagram(tpl map[string]any) string {
	res, _ := tpl["Resources"].(map[string]any)
	d := &diagram{res: res, names: map[string]string{}}
	for id := range res {
		d.names[id] = friendly(id)
	}
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	w("Casellario stack: generated from the synthesized template by `make -f infra/infra.mk diagram`; do not edit.")
	w("")
	w("  [office clerk] --HTTPS+JWT--> HttpApi --> api --+")
	w("  [office clerk] --PUT list.csv/xlsx/json--> UploadsBucket --ObjectCreated--> intake --+--> Table (DynamoDB)")
	w("  [Scheduler, Europe/Rome] --> dispatch --SMTP/PEC--> [Procura]                        +--> DocumentsBucket")
	w("  [Scheduler, Europe/Rome] --> poll <--IMAP/PEC-- [Comune PEC inbox]                    +--> Notices (SQS) --> notify --SMTP--> [offices]")
	w("")
	w("Triggers")
	for _, line := range d.triggers() {
		w("  %s", line)
	}
	w("")
	w("Functions (runtime, architecture, memory, timeout, reserved concurrency, dead-letter queue) and their permissions")
	for _, id := range d.ofType("AWS::Lambda::Function") {
		p := d.props(id)
		line := fmt.Sprintf("  %s  %v %v %v MB %v s", d.names[id], p["Runtime"], first(p["Architectures"]), p["MemorySize"], p["Timeout"])
		if rc, ok := p["ReservedConcurrentExecutions"]; ok {
			line += fmt.Sprintf(" concurrency %v", rc)
		}
		if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
			line += " DLQ " + strings.Join(d.refs(dl["TargetArn"]), ",")
		}
		w("%s", line)
		role := strings.Join(d.refs(p["Role"]), "")
		for _, st := range d.statements(role) {
			w("      %s", st)
		}
	}
	for _, id := range d.ofType("AWS::IAM::Role") {
		if d.names[id] != "OfficeDropRole" {
			continue
		}
		w("")
		w("Roles people assume")
		w("  %s %v (session tags tenant and office required)", d.names[id], d.props(id)["RoleName"])
		for _, st := range d.statements(d.names[id]) {
			w("      %s", st)
		}
	}
	w("")
	w("Queues")
	for _, id := range d.ofType("AWS::SQS::Queue") {
		line := "  " + d.names[id]
		if rp, ok := d.props(id)["RedrivePolicy"].(map[string]any); ok {
			line += fmt.Sprintf(" --after %v receives--> %s", rp["maxReceiveCount"], strings.Join(d.refs(rp["deadLetterTargetArn"]), ","))
		}
		w("%s", line)
	}
	w("")
	w("Alarms (all notify AlarmTopic)")
	for _, id := range d.ofType("AWS::CloudWatch::Alarm") {
		p := d.props(id)
		var dims []string
		if ds, ok := p["Dimensions"].([]any); ok {
			for _, x := range ds {
				dims = append(dims, d.refs(x.(map[string]any)["Value"])...)
			}
		}
		op := map[string]string{"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<"}[fmt.Sprint(p["ComparisonOperator"])]
		w("  %-28s %s/%s %s %s %v %v over %vx%vs, missing data %v", p["AlarmName"], p["Namespace"], p["MetricName"], strings.Join(dims, ","),
			p["Statistic"], op, p["Threshold"], p["EvaluationPeriods"], p["Period"], p["TreatMissingData"])
	}
	for _, id := range d.ofType("AWS::CloudWatch::Dashboard") {
		w("")
		w("Dashboard %v: alarm states, poll runs and errors, overdue requests, function errors and throttles, DLQ depths", d.props(id)["DashboardName"])
	}
	w("")
	w("Encrypted with the customer-managed key (rotation on)")
	var enc []string
	for id := range res {
		t := d.typ(id)
		if t == "AWS::KMS::Key" || t == "AWS::KMS::Alias" || t == "AWS::Lambda::Function" || strings.HasPrefix(t, "AWS::IAM::") {
			continue
		}
		for _, k := range d.refs(d.props(id)) {
			if d.typ(d.byName(k)) == "AWS::KMS::Key" {
				enc = append(enc, d.names[id])
				break
			}
		}
	}
	sort.Strings(enc)
	enc = uniq(enc)
	w("  %s", strings.Join(enc, ", "))
	return b.String()
}

type diagram struct {
	res   map[string]any
	names map[string]string
}

var hashSuffix = regexp.MustCompile(`[0-9A-F]{8}$`)

// friendly strips CDK's 8-hex-digit suffix from a logical id.
func friendly(id string) string {
	if len(id) > 8 && hashSuffix.MatchString(id) {
		return id[:len(id)-8]
	}
	return id
}

func (d *diagram) typ(id string) string {
	r, _ := d.res[id].(map[string]any)
	t, _ := r["Type"].(string)
	return t
}

func (d *diagram) props(id string) map[string]any {
	r, _ := d.res[id].(map[string]any)
	p, _ := r["Properties"].(map[string]any)
	return p
}

func (d *diagram) byName(name string) string {
	for id, n := range d.names {
		if n == name {
			return id
		}
	}
	return ""
}

func (d *diagram) ofType(t string) []string {
	var out []string
	for id := range d.res {
		if d.typ(id) == t {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return d.names[out[i]] < d.names[out[j]] })
	return out
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}`)

// refs returns the friendly names of the resources v refers to (Ref, Fn::GetAtt, Fn::Sub; the buckets,
// named by a fixed Fn::Sub pattern, by that name).
func (d *diagram) refs(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["Ref"].(string); ok {
				if _, ok := d.res[r]; ok {
					out = append(out, d.names[r])
				}
				return
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				out = append(out, d.names[fmt.Sprint(ga[0])])
				return
			}
			if sub, ok := x["Fn::Sub"].(string); ok {
				for _, m := range subRef.FindAllStringSubmatch(sub, -1) {
					if _, ok := d.res[m[1]]; ok {
						out = append(out, d.names[m[1]])
					}
				}
				for _, b := range []string{"uploads", "documents"} {
					if strings.Contains(sub, "casellario-"+b+"-") {
						out = append(out, strings.ToUpper(b[:1])+b[1:]+"Bucket")
					}
				}
				return
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return uniq(out)
}

// statements lists the Allow statements of the policies attached to role: "actions -> resources".
func (d *diagram) statements(role string) []string {
	var out []string
	for _, id := range d.ofType("AWS::IAM::Policy") {
		p := d.props(id)
		attached := false
		for _, r := range d.refs(p["Roles"]) {
			attached = attached || r == role
		}
		if !attached {
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		sts, _ := doc["Statement"].([]any)
		for _, s := range sts {
			st := s.(map[string]any)
			var acts []string
			switch a := st["Action"].(type) {
			case string:
				acts = []string{a}
			case []any:
				for _, x := range a {
					acts = append(acts, fmt.Sprint(x))
				}
			}
			targets := d.refs(st["Resource"])
			if strings.Contains(fmt.Sprint(st["Resource"]), "/*") || strings.Contains(fmt.Sprint(st["Resource"]), "*.") {
				label := " (objects)"
				if paths := objectPaths(st["Resource"]); len(paths) > 0 && fmt.Sprint(paths) != "[/*]" {
					label = " (objects " + strings.Join(paths, " ") + ")"
				}
				for i := range targets {
					if strings.HasSuffix(targets[i], "Bucket") {
						targets[i] += label
					}
				}
			}
			out = append(out, fmt.Sprintf("%s -> %s", strings.Join(acts, " "), strings.Join(targets, ", ")))
		}
	}
	sort.Strings(out)
	return out
}

func (d *diagram) triggers() []string {
	var out []string
	for _, id := range d.ofType("AWS::S3::Bucket") {
		nc, _ := d.props(id)["NotificationConfiguration"].(map[string]any)
		lcs, _ := nc["LambdaConfigurations"].([]any)
		var suffixes []string
		var fns []string
		for _, lc := range lcs {
			m := lc.(map[string]any)
			fns = append(fns, d.refs(m["Function"])...)
			f, _ := m["Filter"].(map[string]any)
			k, _ := f["S3Key"].(map[string]any)
			for _, r := range k["Rules"].([]any) {
				suffixes = append(suffixes, fmt.Sprint(r.(map[string]any)["Value"]))
			}
		}
		if len(lcs) > 0 {
			out = append(out, fmt.Sprintf("%s --s3:ObjectCreated:* (*%s)--> %s", d.names[id], strings.Join(suffixes, " | *"), strings.Join(uniq(fns), ",")))
		}
	}
	for _, id := range d.ofType("AWS::Scheduler::Schedule") {
		p := d.props(id)
		t, _ := p["Target"].(map[string]any)
		line := fmt.Sprintf("%s  %v %v  %v --> %s", p["Name"], p["ScheduleExpression"], p["ScheduleExpressionTimezone"], p["State"], strings.Join(d.refs(t["Arn"]), ","))
		if dl, ok := t["DeadLetterConfig"].(map[string]any); ok {
			line += "  (undeliverable: " + strings.Join(d.refs(dl["Arn"]), ",") + ")"
		}
		out = append(out, line)
	}
	for _, id := range d.ofType("AWS::Lambda::EventSourceMapping") {
		p := d.props(id)
		out = append(out, fmt.Sprintf("%s --SQS batch %v--> %s", strings.Join(d.refs(p["EventSourceArn"]), ","), p["BatchSize"], strings.Join(d.refs(p["FunctionName"]), ",")))
	}
	for _, id := range d.ofType("AWS::ApiGatewayV2::Route") {
		p := d.props(id)
		integ := d.byName(strings.Join(d.refs(p["Target"]), ""))
		auth := "none"
		if a := d.refs(p["AuthorizerId"]); len(a) > 0 {
			ap := d.props(d.byName(a[0]))
			auth = fmt.Sprintf("%v authorizer %s", ap["AuthorizerType"], a[0])
		}
		out = append(out, fmt.Sprintf("HttpApi %v [%s] --> %s", p["RouteKey"], auth, strings.Join(d.refs(d.props(integ)["IntegrationUri"]), ",")))
	}
	return out
}

// objectPaths returns the literal key patterns joined after a bucket's ARN ("/c_g999/*").
func objectPaths(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
				if parts, ok := j[1].([]any); ok && len(parts) == 2 {
					if p, ok := parts[1].(string); ok && strings.HasPrefix(p, "/") {
						out = append(out, p)
					}
				}
				return
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	sort.Strings(out)
	return out
}

func first(v any) any {
	if a, ok := v.([]any); ok && len(a) > 0 {
		return a[0]
	}
	return v
}

func uniq(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

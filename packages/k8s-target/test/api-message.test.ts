import { describe, expect, it } from 'vitest';
import { shortenApiMessage } from '../src/api-message.js';
import { errorFromResponse } from '../src/kube-client.js';

// The shape of a real apiserver answer to a changed Job template (abridged struct, same form).
const struct =
  'core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", GenerateName:"", Labels:map[string]string{"app":"x", "batch.kubernetes.io/job-name":"migrate"}, Annotations:map[string]string(nil)}, Spec:core.PodSpec{Volumes:[]core.Volume(nil), Containers:[]core.Container{core.Container{Name:"m", Image:"busybox:2", Command:[]string{"sh", "-c", "echo \\"}{\\""}, Env:[]core.EnvVar{core.EnvVar{Name:"PASSWORD", Value:"hunter2-in-a-struct"}}}}}}';
const message = `Job.batch "migrate" is invalid: spec.template: Invalid value: ${struct}: field is immutable`;

describe('apiserver messages that quote a Go struct', () => {
  it('keep the field path and the reason, cut the literal to its type', () => {
    expect(shortenApiMessage(message)).toBe(
      'Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{…}: field is immutable',
    );
  });

  it('leave other messages alone and bound long ones', () => {
    expect(shortenApiMessage('namespaces "x" not found')).toBe('namespaces "x" not found');
    expect(shortenApiMessage('Invalid value: "abc": must be a number')).toBe(
      'Invalid value: "abc": must be a number',
    );
    expect(shortenApiMessage('x'.repeat(5000)).length).toBe(1000);
  });

  it('errorFromResponse shortens the message and the causes, so no struct (or value in it) reaches an error', () => {
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'Invalid',
      message,
      details: {
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.template',
            message: `Invalid value: ${struct}: field is immutable`,
          },
        ],
      },
    });
    const error = errorFromResponse(422, body);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('spec.template');
    expect(error.causes[0]?.message).toBe('Invalid value: core.PodTemplateSpec{…}: field is immutable');
  });
});

describe('literals anywhere, and multi-line diffs', () => {
  it('cuts a map of byte slices and a literal that does not follow "Invalid value:"', () => {
    const text =
      'Secret "db" is invalid: data: Invalid value: map[string][]uint8{"password":[]uint8{0x68, 0x75}}: bad; old: core.SecretSpec{Data:"hunter2"}';
    const short = shortenApiMessage(text);
    expect(short).toBe(
      'Secret "db" is invalid: data: Invalid value: map[string][]uint8{…}: bad; old: core.SecretSpec{…}',
    );
  });

  it('keeps only the first line of a refused Pod update (the struct diff follows on the next lines)', () => {
    const text =
      'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`\n  core.PodSpec{\n-  Env: []core.EnvVar{{Name: "PASSWORD", Value: "hunter2-s3cret"}},\n+  Env: nil,\n  }';
    const short = shortenApiMessage(text);
    expect(short).not.toContain('hunter2');
    expect(short).toBe(
      'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image` (details cut)',
    );
  });

  it('leaves JSON-looking text and plain words with braces alone', () => {
    expect(shortenApiMessage('expected {"a":1} in body')).toBe('expected {"a":1} in body');
  });
});

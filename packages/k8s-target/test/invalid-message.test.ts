import { describe, expect, it } from 'vitest';
import { isImmutableError } from '../src/errors.js';
import { errorFromResponse } from '../src/kube-client.js';

/** What kube-apiserver answers for a changed Job template (the struct dump shortened here). */
const struct =
  'core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", GenerateName:"", Labels:map[string]string{"batch.kubernetes.io/job-name":"migrate"}, ' +
  'Annotations:map[string]string(nil)}, Spec:core.PodSpec{Volumes:[]core.Volume(nil), Containers:[]core.Container{core.Container{Name:"migrate", ' +
  'Image:"busybox:2", Command:[]string{"true"}}}, RestartPolicy:"Never"}}';
const body = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  reason: 'Invalid',
  code: 422,
  message: `Job.batch "migrate" is invalid: spec.template: Invalid value: ${struct}: field is immutable`,
  details: {
    name: 'migrate',
    group: 'batch',
    kind: 'Job',
    causes: [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${struct}: field is immutable`,
        field: 'spec.template',
      },
    ],
  },
});

describe('apiserver Invalid messages', () => {
  it('are cut to the object, the field paths and the reasons, without the Go struct', () => {
    const error = errorFromResponse(422, body);
    expect(error.message).toBe('Job.batch "migrate" is invalid: spec.template: field is immutable');
    expect(isImmutableError(error)).toBe(true);
  });

  it('without causes, replace every struct dump by {…}', () => {
    const noCauses = JSON.parse(body) as { details: { causes?: unknown } };
    delete noCauses.details.causes;
    const error = errorFromResponse(422, JSON.stringify(noCauses));
    expect(error.message).toBe(
      'Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{…}: field is immutable',
    );
  });
});

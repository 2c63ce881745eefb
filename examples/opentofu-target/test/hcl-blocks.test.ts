import { describe, expect, it } from 'vitest';
import { HclScanError, scanBlocks } from '../src/hcl-blocks.js';

describe('scanBlocks', () => {
  it('finds top-level blocks, their labels and lines, skipping braces in strings, templates, heredocs and comments', () => {
    const text = [
      '# a comment with { a brace',
      'terraform {',
      '  required_providers { time = { source = "hashicorp/time" } }',
      '}',
      '',
      'resource "terraform_data" "web" {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: HCL's template syntax, not JavaScript's
      '  input = { text = "a } brace ${upper("x}")} here", list = [1, 2] }',
      '  doc = <<-EOT',
      '    } not a close',
      '    EOT',
      '  /* } */ // }',
      '}',
      'output "color" { value = terraform_data.web.output }',
    ].join('\n');
    const blocks = scanBlocks(text);
    expect(blocks.map((b) => [b.type, b.labels, b.line])).toEqual([
      ['terraform', [], 2],
      ['resource', ['terraform_data', 'web'], 6],
      ['output', ['color'], 13],
    ]);
    expect(blocks[1]?.text.startsWith('resource "terraform_data" "web" {')).toBe(true);
    expect(blocks[1]?.text.endsWith('// }\n}')).toBe(true);
  });

  it('names the line of a block that never closes', () => {
    const error = (() => {
      try {
        scanBlocks('output "a" { value = 1 }\n\nresource "x" "y" {\n  a = "b"\n');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(HclScanError);
    expect((error as HclScanError).line).toBe(3);
  });

  it('refuses an attribute at the top level', () => {
    expect(() => scanBlocks('a = 1\n')).toThrow(HclScanError);
  });
});

import { describe, expect, it } from 'vitest';
import { xmlProblems } from './xml-check.js';

// The checker must be able to fail, or the picture tests prove nothing.
describe('xmlProblems', () => {
  it('accepts a small well-formed document', () => {
    expect(
      xmlProblems(
        '<?xml version="1.0"?>\n<svg a="1" b=\'&amp;\'><g><text>x &lt; y &#8594;</text></g><!-- c --></svg>\n',
      ),
    ).toEqual([]);
  });
  it.each([
    ['<svg><g></svg>', '</svg>'],
    ['<svg>a & b</svg>', "bare '&'"],
    ['<svg a="<"/>', "raw '<'"],
    ['<svg a="1" a="2"/>', 'duplicate attribute'],
    ['<svg a=1/>', 'bad attribute'],
    ['<svg/><svg/>', '2 root elements'],
    ['<svg>', 'unclosed'],
    ['text<svg/>', 'text outside'],
  ])('rejects %s', (doc, problem) => {
    expect(xmlProblems(doc).join('\n')).toContain(problem);
  });
});

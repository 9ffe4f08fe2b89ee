import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';
import {
  CONTROL_CHARACTER,
  MAX_FIELD_CONDITION_LENGTH,
  MAX_FIELD_NAME_LENGTH,
  TIMESTAMP_HINT,
  compileUserRegex,
  normalizeLevel,
  parseDuration,
  parseFieldCondition,
  parseMatchExpression,
  readTimestamp,
} from '@daylog/log-model';

/** More values than this for one parameter is a mistake, and would make SQL too deep to plan. */
export const MAX_VALUES_PER_PARAM = 50;

/** `pod=a&pod=b` and `pod=a,b` both become ['a', 'b']. */
export function CommaList(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => {
    if (value === undefined) return undefined;
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    return values.flatMap((v) => (typeof v === 'string' ? v.split(',') : [v])).map((v) => (typeof v === 'string' ? v.trim() : v)).filter((v) => v !== '');
  });
}

/** Repeatable but never split: a searched text may hold commas. */
export function RepeatableList(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => (value === undefined || Array.isArray(value) ? value : [value]));
}

function check(name: string, validate: (value: unknown) => boolean, message: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name, validator: { validate } }, { message, ...options });
}

const isText = (value: unknown): value is string => typeof value === 'string';

export const IsSingleDuration = (param: string) =>
  check('isDuration', (v) => isText(v) && parseDuration(v) !== undefined, `${param} must be a duration such as 90s, 15m, 2h or 1d, given once`);

export const IsSingleTimestamp = (param: string) =>
  ValidateBy(
    { name: 'isTimestamp', validator: { validate: (v) => isText(v) && typeof readTimestamp(v) === 'number' } },
    {
      message: ({ value }) => {
        const problem = isText(value) ? readTimestamp(value) : undefined;
        return typeof problem === 'string' ? `${param} ${problem}` : `${param} must be ${TIMESTAMP_HINT}, given once`;
      },
    },
  );

export const IsSingleLevel = (param: string) =>
  check('isLevel', (v) => isText(v) && normalizeLevel(v) !== undefined, `${param} must be one level (trace, debug, info, warn, error, fatal), given once`);

export const AreLevels = (param: string) =>
  check('areLevels', (v) => Array.isArray(v) && v.length > 0 && v.length <= MAX_VALUES_PER_PARAM && v.every((l) => isText(l) && normalizeLevel(l) !== undefined), `${param} must list levels among trace, debug, info, warn, error, fatal`);

export const IsSingleChoice = (param: string, choices: readonly string[]) =>
  check('isChoice', (v) => isText(v) && choices.includes(v), `${param} must be one of ${choices.join(', ')}`);

export const IsSingleInteger = (param: string, min: number, max: number) =>
  check('isInteger', (v) => isText(v) && /^\d{1,9}$/.test(v) && +v >= min && +v <= max, `${param} must be a whole number from ${min} to ${max}, given once`);

const isPlainText = (value: unknown, maxLength: number): boolean =>
  isText(value) && value.length > 0 && value.length <= maxLength && !CONTROL_CHARACTER.test(value);

export const IsSingleText = (param: string, maxLength: number) =>
  check('isText', (v) => isPlainText(v, maxLength), `${param} must be a non-empty text of at most ${maxLength} characters without control characters, given once`);

export const AreTexts = (param: string, maxLength: number) =>
  check(
    'areTexts',
    (v) => Array.isArray(v) && v.length > 0 && v.length <= MAX_VALUES_PER_PARAM && v.every((t) => isPlainText(t, maxLength)),
    `${param} takes 1 to ${MAX_VALUES_PER_PARAM} non-empty values of at most ${maxLength} characters without control characters`,
  );

export const IsMatchExpression = (param: string, maxLength: number) =>
  ValidateBy(
    {
      name: 'isMatchExpression',
      validator: { validate: (v) => isPlainText(v, maxLength) && typeof parseMatchExpression(v as string) !== 'string' },
    },
    {
      message: ({ value }) => {
        const problem = isPlainText(value, maxLength) ? parseMatchExpression(value as string) : undefined;
        return typeof problem === 'string'
          ? problem
          : `${param} must be words, "quoted phrases" and prefixes (pay*), at most ${maxLength} characters, given once`;
      },
    },
  );

function regexProblem(value: unknown): string | undefined {
  // A repeated parameter is not one text: it gets the answer an empty one does.
  const compiled = compileUserRegex(typeof value === 'string' ? value : '');
  return typeof compiled === 'string' ? compiled : undefined;
}

export const IsLinearRegex = (param: string) =>
  ValidateBy(
    { name: 'isLinearRegex', validator: { validate: (v) => regexProblem(v) === undefined } },
    { message: ({ value }) => regexProblem(value) ?? `${param} is not accepted` },
  );

/** More field terms than this in one request (field and exclude_field together) is a 400. */
export const MAX_FIELD_TERMS = 16;

export const tooManyFieldTerms = `at most ${MAX_FIELD_TERMS} field and exclude_field terms in all`;

/** `field=name:value`, repeatable, never split: a value may hold commas and colons. */
export const AreFieldConditions = (param: string) =>
  ValidateBy(
    {
      name: 'areFieldConditions',
      validator: { validate: (v) => Array.isArray(v) && v.length > 0 && v.length <= MAX_FIELD_TERMS && v.every((t) => isText(t) && parseFieldCondition(t) !== undefined) },
    },
    {
      message: ({ value }) =>
        Array.isArray(value) && value.length > MAX_FIELD_TERMS
          ? tooManyFieldTerms
          : `${param} takes name:value, e.g. ${param}=status:500: a name of 1 to ${MAX_FIELD_NAME_LENGTH} characters without ":", ` +
            `then the value (it may be empty, and hold ":"), at most ${MAX_FIELD_CONDITION_LENGTH} characters in all, without control characters`,
    },
  );

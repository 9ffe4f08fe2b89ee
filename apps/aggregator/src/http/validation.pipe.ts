import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

/** Each DTO's parameters, found once: its decorators ran when its class was defined, and every request asks. */
const paramsOfDtos = new WeakMap<object, string[]>();

/** A DTO's parameters, those of the classes it extends first, each in the order declared. */
function paramsOf(dto: object): string[] {
  let params = paramsOfDtos.get(dto);
  if (!params) {
    params = declaredParams(dto);
    paramsOfDtos.set(dto, params);
  }
  return params;
}

function declaredParams(dto: object): string[] {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(dto as new () => object, '', true, false);
  const lineage: unknown[] = [];
  for (let type: unknown = dto; typeof type === 'function' && type !== Function.prototype; type = Object.getPrototypeOf(type)) lineage.unshift(type);
  const names = lineage.flatMap((type) => metadatas.filter((m) => m.target === type).map((m) => m.propertyName));
  return [...new Set(names)];
}

const acceptedParams = (error: ValidationError): string => paramsOf((error.target as object).constructor).join(', ');

/**
 * class-transformer skips keys such as `constructor` and `__proto__`, so the whitelist never sees
 * them; the raw query string is checked against the DTO's parameters first.
 */
class QueryValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query' && metadata.metatype && typeof value === 'object' && value !== null) {
      const accepted = paramsOf(metadata.metatype);
      const unknown = Object.keys(value).find((key) => !accepted.includes(key));
      if (unknown !== undefined) {
        throw new BadRequestException({ error: `unknown parameter "${unknown}"; accepted: ${accepted.join(', ')}`, param: unknown });
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** A 400 that names the parameter: `{"error": "...", "param": "limit"}`. */
export function createValidationPipe(): ValidationPipe {
  return new QueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: true },
    exceptionFactory: (errors: ValidationError[]) => {
      const [first] = errors;
      const constraints = first.constraints ?? {};
      const error =
        'whitelistValidation' in constraints
          ? `unknown parameter "${first.property}"; accepted: ${acceptedParams(first)}`
          : (Object.values(constraints)[0] ?? `${first.property} is not valid`);
      return new BadRequestException({ error, param: first.property });
    },
  });
}

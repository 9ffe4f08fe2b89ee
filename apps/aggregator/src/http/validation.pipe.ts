import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

function acceptedParams(error: ValidationError): string {
  const dto = (error.target as object).constructor;
  const names = getMetadataStorage()
    .getTargetValidationMetadatas(dto, '', true, false)
    .map((metadata) => metadata.propertyName);
  return [...new Set(names)].join(', ');
}

/** A 400 that names the parameter: `{"error": "...", "param": "limit"}`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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

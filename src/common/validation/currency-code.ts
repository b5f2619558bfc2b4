import { ValidateBy, buildMessage, isISO4217CurrencyCode, type ValidationOptions } from 'class-validator';

const THREE_CAPITALS = /^[A-Z]{3}$/;

/**
 * An ISO 4217 alphabetic code exactly as the standard writes it: three capital
 * letters. (class-validator's IsISO4217CurrencyCode also takes "usd", which would
 * then be stored and sent to the PSP in lower case.)
 */
export const isCurrencyCode = (value: unknown): boolean =>
  typeof value === 'string' && THREE_CAPITALS.test(value) && isISO4217CurrencyCode(value);

export function IsCurrencyCode(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCurrencyCode',
      validator: {
        validate: (value: unknown) => isCurrencyCode(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be an ISO 4217 currency code in capitals, such as USD`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}

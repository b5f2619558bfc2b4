import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { Doc, toBool } from './env-decorators.js';
import { StripeEnv } from './stripe-env.js';

/** A readable-looking path: no check of the file here, validateEnv reads it. */
const PATH = /^\S(.*\S)?$/;

/**
 * TLS: the process's own HTTPS listener and the extra certificate authorities each outbound
 * caller trusts (docs/deploying-behind-tls.md). Extends OperationsEnv, so that the variables
 * keep their order in docs/configuration.md.
 */
export class TlsEnv extends StripeEnv {
  @Doc(
    'PEM certificate (then its chain) the process serves HTTPS with; set with TLS_KEY_FILE, every role serves HTTPS only (TLS 1.2+), reloaded when the file changes or on SIGHUP. Unset: plain HTTP (behind a gateway that terminates TLS).',
  )
  @IsOptional()
  @Matches(PATH, { message: 'TLS_CERT_FILE must be a file path' })
  TLS_CERT_FILE?: string = undefined;

  @Doc('PEM private key of TLS_CERT_FILE (set both or neither).')
  @IsOptional()
  @Matches(PATH, { message: 'TLS_KEY_FILE must be a file path' })
  TLS_KEY_FILE?: string = undefined;

  @Doc(
    "PEM file of extra CAs the shop trusts calling the PSP (PSP_BASE_URL), besides Node's and the system's store; verification cannot be turned off.",
  )
  @IsOptional()
  @Matches(PATH, { message: 'PSP_CA_FILE must be a file path' })
  PSP_CA_FILE?: string = undefined;

  @Doc(
    "PEM file of extra CAs the outbound engine trusts calling merchants' endpoints, besides Node's and the system's store; verification cannot be turned off.",
  )
  @IsOptional()
  @Matches(PATH, { message: 'OUTBOUND_CA_FILE must be a file path' })
  OUTBOUND_CA_FILE?: string = undefined;

  @Doc(
    "PEM file of extra CAs the PSP mock trusts delivering to a payment's callback_url (the shop, or its gateway), besides Node's and the system's store.",
  )
  @IsOptional()
  @Matches(PATH, { message: 'PSP_MOCK_CA_FILE must be a file path' })
  PSP_MOCK_CA_FILE?: string = undefined;

  @Doc(
    "Merchants' endpoints must be https:// (registration answers 422 WEBHOOK_ENDPOINT.HTTPS_REQUIRED; a delivery to an older http:// one fails). Default: true when NODE_ENV=production, else false.",
  )
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  WEBHOOK_HTTPS_ONLY?: boolean = undefined;

  @Doc(
    'Hosts (names or IP addresses, as written in the URL, comma-separated) whose endpoints may stay http:// while WEBHOOK_HTTPS_ONLY is on; none: no exception.',
  )
  @IsString()
  WEBHOOK_HTTP_ALLOWED_HOSTS = 'none';
}

/** Where backups are stored, as settings (config.ts reads them from the environment; pgBackRest is given them too). */
export type ObjectStoreSettings =
  /** A folder under the home: `<home>/objects/` (0700). */
  | { readonly kind: 'fs'; readonly root: string }
  | {
      readonly kind: 's3'
      /** COFFER_S3_ENDPOINT, e.g. https://swift.example:8080; path-style addressing. */
      readonly endpoint: string
      /** COFFER_S3_BUCKET; made on start when missing. */
      readonly bucket: string
      /** COFFER_S3_REGION, default us-east-1; must equal the server's (s3api's `location`). */
      readonly region: string
      /** COFFER_S3_ACCESS_KEY and COFFER_S3_SECRET_KEY (Swift tempauth: `account:user` and its key). */
      readonly accessKeyId: string
      readonly secretAccessKey: string
      /** COFFER_S3_CA_FILE: PEM the endpoint's (e.g. self-signed) certificate is checked against. */
      readonly caFile?: string
    }

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates the table behind `Idempotency-Key` on customer creation. Keys belong to a service token,
 * not to a customer, because the customer does not exist yet when the key first arrives.
 */
export class IdempotencyKeys1764892800000 implements MigrationInterface {
  name = 'IdempotencyKeys1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_key (
        token_name varchar(64) NOT NULL,
        key varchar(255) NOT NULL,
        request_hash bytea NOT NULL,
        customer_id bigint NULL,
        response_body text NULL,
        created_at timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (token_name, key)
      )`);
    await queryRunner.query(`CREATE INDEX idempotency_key_created_at ON idempotency_key (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_key`);
  }
}

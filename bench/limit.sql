-- The database's own limit: one settlement (2207) as a single round trip.
--
-- The same reads and writes as services/settlement.settle behind run_once: claim the
-- idempotency key, read the institution, the patient and the credential's holder,
-- the usable helpers in deduction order, lock every account that may pay in id order,
-- then the fund accumulator; pooled fund and waterfall; settlement row, mutual-aid
-- rows, balanced postings, guarded balance updates, the journal transaction row,
-- accumulator, notices, and the stored answer. Same tables, same triggers.
-- {rules} is filled in by bench/limit.py from the region policy files.

CREATE OR REPLACE FUNCTION bench_settle(p_code text, p_infno text, p_msgid text,
    p_psn_no text, p_cert_type text, p_certno text,
    p_medfee bigint, p_ownpay bigint, p_inscp bigint) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  v_now timestamp := now() AT TIME ZONE 'UTC';
  v_day date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
  v_scope text := 'fsi:' || p_code;
  v_hash text;
  v_prev record;
  v_inst record;
  v_patient record;
  v_holder bigint;
  v_rule record;
  v_acc record;
  v_row record;
  -- usable helpers, in deduction order
  h_binding bigint[] := '{}'; h_helper bigint[] := '{}'; h_account bigint[] := '{}';
  h_relation text[] := '{}'; h_psn_no text[] := '{}'; h_paid bigint[] := '{}';
  v_ids bigint[];
  v_bal_ids bigint[] := '{}'; v_bals bigint[] := '{}';
  v_own_id bigint; v_own_bal bigint := 0; v_own_pay bigint := 0;
  v_applied bigint; v_fund bigint; v_left bigint; v_part bigint; v_cash bigint;
  v_mulaid bigint := 0; v_balc bigint; v_bal bigint;
  v_txn bigint; v_setl_id text; v_sid bigint; v_fund_acct bigint; v_cash_acct bigint;
  v_detail jsonb := '[]'; v_answer jsonb;
  v_legs int;
  i int;
BEGIN
  v_hash := encode(sha256(convert_to(jsonb_build_object(
    'infno', p_infno, 'mdtrtarea_admvs', left(p_code, 7), 'data', jsonb_build_object(
      'psn_no', p_psn_no, 'mdtrt_cert_type', p_cert_type, 'mdtrt_cert_no', p_certno,
      'medfee_sumamt', p_medfee, 'fulamt_ownpay_amt', p_ownpay, 'inscp_scp_amt', p_inscp,
      'acct_used_flag', '1'))::text, 'UTF8')), 'hex');
  INSERT INTO idempotency (scope, key, request_hash, response, created_at)
    VALUES (v_scope, p_msgid, v_hash, '', v_now) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT request_hash, response INTO v_prev FROM idempotency
      WHERE scope = v_scope AND key = p_msgid;
    IF v_prev.request_hash <> v_hash THEN RAISE EXCEPTION 'IDEMPOTENCY_CONFLICT'; END IF;
    RETURN v_prev.response;
  END IF;

  SELECT * INTO v_inst FROM institutions WHERE fixmedins_code = p_code;
  IF NOT FOUND OR v_inst.fixmedins_type <> 'hospital' THEN
    RAISE EXCEPTION 'INSTITUTION_NOT_FOUND';
  END IF;
  SELECT p.id, p.psn_name, p.insutype, p.insuplc_admdvs, p.psn_insu_stas,
         a.id AS account_id, a.status AS account_status, a.balance_fen
    INTO v_patient FROM persons p LEFT JOIN accounts a ON a.person_id = p.id
    WHERE p.psn_no = p_psn_no;
  IF NOT FOUND THEN RAISE EXCEPTION 'PERSON_NOT_FOUND'; END IF;
  SELECT p.id INTO v_holder FROM persons p LEFT JOIN accounts a ON a.person_id = p.id
    WHERE p.certno = upper(p_certno);
  IF v_holder IS DISTINCT FROM v_patient.id THEN RAISE EXCEPTION 'CREDENTIAL_MISMATCH'; END IF;
  IF v_patient.psn_insu_stas <> '1' THEN RAISE EXCEPTION 'PATIENT_NOT_INSURED'; END IF;

  FOR v_row IN
    SELECT b.id, b.relation, p.id AS helper_id, p.psn_no, p.psn_insu_stas, p.insutype,
           p.insuplc_admdvs, a.id AS account_id, a.status
      FROM bindings b JOIN persons p ON p.id = b.helper_id
      LEFT JOIN accounts a ON a.person_id = p.id
      WHERE b.beneficiary_id = v_patient.id AND b.status = 'active'
      ORDER BY b.order_pos, b.activated_at, b.id
  LOOP
    IF v_row.psn_insu_stas = '1' AND v_row.account_id IS NOT NULL AND v_row.status = 'normal'
       AND v_row.insutype = '310'
       AND left(v_inst.admdvs, 2) = left(v_row.insuplc_admdvs, 2) THEN
      h_binding := h_binding || v_row.id; h_helper := h_helper || v_row.helper_id;
      h_account := h_account || v_row.account_id; h_relation := h_relation || v_row.relation;
      h_psn_no := h_psn_no || v_row.psn_no;
    END IF;
  END LOOP;
  v_own_id := CASE WHEN v_patient.account_status = 'normal' THEN v_patient.account_id END;
  v_ids := h_account || v_own_id;
  FOR v_row IN SELECT id, balance_fen, status FROM accounts WHERE id = ANY(v_ids)
               ORDER BY id FOR UPDATE LOOP
    v_bal_ids := v_bal_ids || v_row.id; v_bals := v_bals || v_row.balance_fen;
  END LOOP;

  SELECT * INTO v_rule FROM (VALUES {rules}) AS r(admdvs, deductible, ratio_bp, cap)
    WHERE r.admdvs = v_patient.insuplc_admdvs;
  INSERT INTO fund_accumulators (person_id, year, scene, deductible_used_fen, fund_paid_fen)
    VALUES (v_patient.id, extract(year FROM v_day), 'hospital', 0, 0) ON CONFLICT DO NOTHING;
  SELECT deductible_used_fen, fund_paid_fen INTO v_acc FROM fund_accumulators
    WHERE person_id = v_patient.id AND year = extract(year FROM v_day) AND scene = 'hospital'
    FOR UPDATE;
  v_applied := least(p_inscp, greatest(0, v_rule.deductible - v_acc.deductible_used_fen));
  v_fund := (2 * (p_inscp - v_applied) * v_rule.ratio_bp + 10000) / 20000;  -- half-up
  v_fund := least(v_fund, greatest(0, v_rule.cap - v_acc.fund_paid_fen));

  -- the waterfall: own account, helpers in order, cash
  v_left := p_medfee - v_fund;
  IF v_own_id IS NOT NULL THEN
    v_own_bal := v_bals[array_position(v_bal_ids, v_own_id)];
    v_own_pay := least(v_left, v_own_bal);
    v_left := v_left - v_own_pay;
  END IF;
  FOR i IN 1 .. coalesce(array_length(h_account, 1), 0) LOOP
    v_part := least(v_left, v_bals[array_position(v_bal_ids, h_account[i])]);
    h_paid := h_paid || v_part;
    v_left := v_left - v_part;
    v_mulaid := v_mulaid + v_part;
  END LOOP;
  v_cash := v_left;
  v_balc := CASE WHEN v_own_id IS NOT NULL THEN v_own_bal - v_own_pay
                 ELSE coalesce(v_patient.balance_fen, 0) END;

  v_txn := nextval('journal_txn_ids');
  v_setl_id := 'S' || to_char(v_day, 'YYYYMMDD') || upper(substr(md5(random()::text), 1, 16));
  INSERT INTO settlements (setl_id, institution_id, person_id, infno, msgid, mdtrt_cert_type,
      insutype, acct_used_flag, medfee_sumamt_fen, fulamt_ownpay_amt_fen, overlmt_selfpay_fen,
      preselfpay_amt_fen, inscp_scp_amt_fen, fund_pay_sumamt_fen, psn_part_amt_fen,
      acct_pay_fen, acct_mulaid_pay_fen, psn_cash_pay_fen, balc_fen, deductible_applied_fen,
      fund_year, fund_scene, setl_time, setl_date, txn_id)
    VALUES (v_setl_id, v_inst.id, v_patient.id, p_infno, p_msgid, p_cert_type,
      v_patient.insutype, '1', p_medfee, p_ownpay, 0, 0, p_inscp, v_fund, p_medfee - v_fund,
      v_own_pay, v_mulaid, v_cash, v_balc, v_applied, extract(year FROM v_day), 'hospital',
      v_now, v_day, v_txn)
    RETURNING id INTO v_sid;
  INSERT INTO settlement_mulaid (settlement_id, seq, helper_id, binding_id, account_id,
                                 relation, amount_fen)
    SELECT v_sid, row_number() OVER (ORDER BY k), h_helper[k], h_binding[k], h_account[k],
           h_relation[k], h_paid[k]
      FROM generate_subscripts(h_paid, 1) AS k WHERE h_paid[k] > 0;

  SELECT id INTO v_fund_acct FROM accounts WHERE code = 'fund:' || v_patient.insuplc_admdvs;
  SELECT id INTO v_cash_acct FROM accounts WHERE code = 'cash';
  INSERT INTO postings (txn_id, account_id, amount_fen, balance_after_fen, at, kind,
                        counterpart_id, binding_id, institution_id, settlement_id)
    SELECT v_txn, l.account_id, l.amount_fen, l.after_fen, v_now, 'settlement',
           v_patient.id, l.binding_id, l.institution_id, v_sid
      FROM (VALUES (v_fund_acct, -v_fund, NULL::bigint, NULL::bigint, NULL::bigint),
                   (v_cash_acct, -v_cash, NULL, NULL, NULL),
                   (v_inst.account_id, p_medfee, NULL, NULL, NULL),
                   (v_own_id, -v_own_pay, v_own_bal - v_own_pay, NULL, v_inst.id)) AS
           l(account_id, amount_fen, after_fen, binding_id, institution_id)
      WHERE l.amount_fen <> 0
    UNION ALL
    SELECT v_txn, h_account[k], -h_paid[k],
           v_bals[array_position(v_bal_ids, h_account[k])] - h_paid[k], v_now, 'settlement',
           v_patient.id, h_binding[k], v_inst.id, v_sid
      FROM generate_subscripts(h_paid, 1) AS k WHERE h_paid[k] > 0;
  GET DIAGNOSTICS v_legs = ROW_COUNT;
  IF v_own_pay > 0 THEN
    UPDATE accounts SET balance_fen = balance_fen - v_own_pay
      WHERE id = v_own_id AND balance_fen - v_own_pay = v_own_bal - v_own_pay;
    IF NOT FOUND THEN RAISE EXCEPTION 'own account moved under a held lock'; END IF;
  END IF;
  FOR i IN 1 .. coalesce(array_length(h_paid, 1), 0) LOOP
    CONTINUE WHEN h_paid[i] = 0;
    v_bal := v_bals[array_position(v_bal_ids, h_account[i])];
    UPDATE accounts SET balance_fen = balance_fen - h_paid[i]
      WHERE id = h_account[i] AND balance_fen - h_paid[i] = v_bal - h_paid[i];
    IF NOT FOUND THEN RAISE EXCEPTION 'helper account moved under a held lock'; END IF;
  END LOOP;
  INSERT INTO journal_txns (id, kind, ref, created_at, posting_count)
    VALUES (v_txn, 'settlement', v_setl_id, v_now, v_legs);
  UPDATE fund_accumulators
    SET deductible_used_fen = v_acc.deductible_used_fen + v_applied,
        fund_paid_fen = v_acc.fund_paid_fen + v_fund
    WHERE person_id = v_patient.id AND year = extract(year FROM v_day) AND scene = 'hospital';
  INSERT INTO notices (person_id, kind, text, amount_fen, at, settlement_id)
    SELECT h_helper[k], 'settlement',
           '您的亲属 ' || left(v_patient.psn_name, 1) || '* 于 '
             || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY"年"MM"月"DD"日" HH24:MI')
             || ' 在 ' || v_inst.fixmedins_name || ' 使用共济资金 '
             || to_char(h_paid[k] / 100.0, 'FM99999990.00') || ' 元',
           -h_paid[k], v_now, v_sid
      FROM generate_subscripts(h_paid, 1) AS k WHERE h_paid[k] > 0;

  SELECT coalesce(jsonb_agg(jsonb_build_object('helper_psn_no', h_psn_no[k],
           'relation', h_relation[k], 'amount', h_paid[k] / 100.0) ORDER BY k), '[]')
    INTO v_detail FROM generate_subscripts(h_paid, 1) AS k WHERE h_paid[k] > 0;
  v_answer := jsonb_build_object('setlinfo', jsonb_build_object(
      'setl_id', v_setl_id, 'psn_no', p_psn_no, 'medfee_sumamt', p_medfee / 100.0,
      'fulamt_ownpay_amt', p_ownpay / 100.0, 'overlmt_selfpay', 0, 'preselfpay_amt', 0,
      'inscp_scp_amt', p_inscp / 100.0, 'fund_pay_sumamt', v_fund / 100.0,
      'psn_part_amt', (p_medfee - v_fund) / 100.0, 'acct_pay', v_own_pay / 100.0,
      'acct_mulaid_pay', v_mulaid / 100.0, 'psn_cash_pay', v_cash / 100.0,
      'balc', v_balc / 100.0,
      'setl_time', to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')),
    'mulaid_detail', v_detail);
  UPDATE idempotency SET response = v_answer::text
    WHERE scope = v_scope AND key = p_msgid;
  RETURN v_answer::text;
END
$fn$;

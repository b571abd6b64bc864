;; Large lists: build, map, filter, fold, sort, append and reverse a
;; 20,000-element list several times over, dropping each round's lists.
(use-modules (srfi srfi-1))
(define (round n k)
  (let* ((l (iota n k))
         (m (map (lambda (x) (* x 3)) l))
         (f (filter even? m))
         (s (sort (map (lambda (x) (modulo (* x 7919) 100003)) f) <))
         (v (list->vector (reverse s))))
    (list (length f) (fold + 0 f) (car s) (vector-ref v 0)
          (apply + (list-head s 100)))))
(define results
  (let loop ((k 0) (acc '()))
    (if (= k 4) (reverse acc) (loop (+ k 1) (cons (round 20000 k) acc)))))
(for-each (lambda (r) (write r) (newline)) results)
;; a long-lived list that must survive every collection of the rounds
(define keep (iota 50000))
(define junk (let loop ((i 0) (acc '())) (if (= i 50) acc (loop (+ i 1) (cons (make-list 2000 i) acc)))))
(display (list 'kept (length keep) (fold + 0 keep) (length junk))) (newline)
(define assoc-list (map (lambda (i) (cons (number->string i) i)) (iota 20000)))
(display (cdr (assoc "19999" assoc-list))) (newline)
